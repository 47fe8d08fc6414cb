// The reference client of the jobs API: what the frontend's useBackgroundJobs hook should do.
// It listens to GET /api/v2/jobs/stream (Server-Sent Events, the session cookie) when the server streams, and polls
// GET /api/v2/jobs/active when it does not (a 503 or any other refusal of the stream), trying the stream again later.
// Polling: one request at a time; the next is scheduled only when the last one settled. Paused while the tab is hidden,
// refreshed at once when it is shown. Sends If-None-Match, follows X-Poll-Interval, backs off with jitter on
// errors (honouring Retry-After), and sends the user to the login page on 401.
(function () {
  "use strict";

  const widget = document.getElementById("jobs-widget");
  const jobsUrl = widget.dataset.jobsUrl;
  const streamUrl = widget.dataset.streamUrl;
  const loginUrl = widget.dataset.loginUrl;
  const baseInterval = Number(widget.dataset.pollInterval) * 1000;
  const maxBackoff = 5 * 60 * 1000;
  // After the stream was refused (a deploy's 503, a 429), it is tried again after JOBS_STREAM_RETRY, then less and
  // less often.
  const streamRetry = Math.max(Number(widget.dataset.streamRetry) * 1000, 100) || 5000;
  const maxStreamRetry = 10 * 60 * 1000;
  const badge = document.getElementById("running-count");
  const statusLine = document.getElementById("status-line");
  const emptyState = document.getElementById("empty-state");
  const list = document.getElementById("job-list");
  const template = document.getElementById("job-template");
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  let etag = null;
  let jobs = [];
  let failures = 0;
  let timer = null;
  let inFlight = false;
  let streamRefusals = 0;

  class HttpError extends Error {
    constructor(response) {
      super(`HTTP ${response.status}`);
      this.response = response;
    }
  }

  function secondsHeader(response, name) {
    const value = response && response.headers.get(name);
    const seconds = value === null || value === undefined ? NaN : Number(value);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
  }

  function backoff(attempt, retryAfter) {
    const exponential = Math.min(baseInterval * 2 ** attempt, maxBackoff);
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.max(jittered, retryAfter || 0);
  }

  function ago(timestamp) {
    const seconds = Math.round((Date.parse(timestamp) - Date.now()) / 1000);
    const steps = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    for (const [unit, size] of steps) {
      if (Math.abs(seconds) >= size || unit === "second") {
        return relative.format(Math.trunc(seconds / size), unit);
      }
    }
    return "";
  }

  function renderJob(job) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.jobId = job.id;
    item.querySelector(".job-filename").textContent = job.filename;
    const chip = item.querySelector(".chip");
    chip.textContent = job.status;
    chip.classList.add(job.status);
    const bar = item.querySelector("progress");
    bar.value = job.progress;
    bar.setAttribute("aria-label", `${job.filename}: ${job.progress}%`);
    item.querySelector(".job-percent").textContent = `${job.progress}%`;
    const started = item.querySelector(".job-started");
    started.dateTime = job.started_at;
    started.title = new Date(job.started_at).toLocaleString();
    started.textContent = ago(job.started_at);
    if (job.error) {
      const error = item.querySelector(".job-error");
      error.textContent = job.error;
      error.hidden = false;
    }
    return item;
  }

  function render(response) {
    const header = response ? response.headers.get("X-Jobs-Running") : null;
    const running = header !== null ? Number(header) : jobs.filter((job) => job.status === "running").length;
    badge.textContent = String(running);
    badge.setAttribute("aria-label", `Running jobs: ${running}`);
    list.replaceChildren(...jobs.map(renderJob));
    emptyState.hidden = jobs.length > 0;
  }

  function setStatus(text, retrying) {
    statusLine.textContent = text;
    statusLine.classList.toggle("retrying", retrying);
  }

  function schedule(delay) {
    clearTimeout(timer);
    if (!document.hidden && !source) {
      timer = setTimeout(poll, delay);
    }
  }

  async function poll() {
    if (inFlight) {
      return;
    }
    inFlight = true;
    clearTimeout(timer);
    let delay = baseInterval;
    try {
      const headers = { Accept: "application/json" };
      if (etag) {
        headers["If-None-Match"] = etag;
      }
      const response = await fetch(jobsUrl, { headers, credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) {
        window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (response.status !== 304 && !response.ok) {
        throw new HttpError(response);
      }
      if (response.status === 200) {
        jobs = await response.json();
        etag = response.headers.get("ETag");
      }
      render(response);
      failures = 0;
      delay = secondsHeader(response, "X-Poll-Interval") || baseInterval;
      setStatus(`Updated ${new Date().toLocaleTimeString()}`, false);
    } catch (error) {
      failures += 1;
      delay = backoff(failures, secondsHeader(error.response, "Retry-After"));
      const reason = error.response ? `the server answered ${error.response.status}` : "the network failed";
      setStatus(`Retrying in ${Math.ceil(delay / 1000)} s: ${reason}.`, true);
    } finally {
      inFlight = false;
    }
    schedule(delay);
  }

  let source = null;

  // Each `jobs` event is what a poll would answer; the browser reconnects by itself after a dropped connection
  // (sending Last-Event-ID). A refused stream (503: this server does not stream, 429, 401) closes it: poll instead.
  function listen() {
    if (!streamUrl || !window.EventSource) {
      return false;
    }
    source = new EventSource(streamUrl, { withCredentials: true });
    source.addEventListener("jobs", (event) => {
      streamRefusals = 0;
      jobs = JSON.parse(event.data);
      etag = event.lastEventId;
      render(null);
      setStatus(`Live, updated ${new Date().toLocaleTimeString()}`, false);
    });
    source.addEventListener("reauthenticate", () => {
      source.close();
      window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) {
        // The connection dropped (a restart, the network): the browser reconnects by itself.
        setStatus("Reconnecting…", true);
        return;
      }
      // Refused: poll meanwhile, and try the stream again later.
      source = null;
      streamRefusals += 1;
      setTimeout(() => {
        if (!source && listen()) {
          clearTimeout(timer);
        }
      }, Math.min(streamRetry * 2 ** (streamRefusals - 1), maxStreamRetry));
      poll();
    });
    return true;
  }

  document.addEventListener("visibilitychange", () => {
    if (source) {
      return;
    }
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      poll();
    }
  });
  if (!listen()) {
    poll();
  }
})();
