// Built by clients/js (npm run build) from databiz/dashboard/src/dashboard.ts: edit that, not this.
(() => {
  // src/backoff.ts
  var MAX_POLL_BACKOFF_MS = 5 * 6e4;
  var MAX_STREAM_RETRY_MS = 10 * 6e4;
  function pollBackoff(failures, baseMs, retryAfterMs) {
    const exponential = Math.min(baseMs * 2 ** failures, MAX_POLL_BACKOFF_MS);
    return Math.max(exponential / 2 + Math.random() * (exponential / 2), retryAfterMs ?? 0);
  }
  function streamRetry(refusals, baseMs) {
    return Math.min(baseMs * 2 ** Math.max(refusals - 1, 0), MAX_STREAM_RETRY_MS);
  }

  // src/http.ts
  var ACTIVE_PATH = "/api/v2/jobs/active";
  var STREAM_PATH = "/api/v2/jobs/stream";
  function jobsUrl(baseUrl, path, filters = {}) {
    const query = ["status", "type"].filter((name) => filters[name]?.length).map((name) => `${name}=${filters[name].map(encodeURIComponent).join(",")}`).join("&");
    return `${baseUrl.replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`;
  }
  function requestHeaders(accept, token, extra) {
    const headers = { Accept: accept };
    if (token) headers.Authorization = `Bearer ${token}`;
    for (const [name, value] of Object.entries(extra)) if (value !== null) headers[name] = value;
    return headers;
  }
  function secondsHeader(headers, name) {
    const value = headers.get(name)?.trim();
    if (!value) return null;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1e3 : null;
    const date = Date.parse(value);
    return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
  }

  // src/polling.ts
  function hints(headers) {
    const running = headers.get("X-Jobs-Running");
    const truncated = headers.get("X-Jobs-Truncated");
    return {
      runningCount: running !== null && /^\d+$/.test(running) ? Number(running) : null,
      truncated: truncated === null ? null : truncated === "true",
      pollIntervalMs: secondsHeader(headers, "X-Poll-Interval") || null
    };
  }
  async function poll(request, etag) {
    let response;
    try {
      response = await request.fetch(request.url, {
        headers: requestHeaders("application/json", request.token, { "If-None-Match": etag }),
        credentials: request.credentials,
        cache: "no-store",
        signal: request.signal
      });
    } catch {
      return { kind: "failed", status: null, retryAfterMs: null };
    }
    if (response.status === 401) return { kind: "unauthorized" };
    if (response.status === 304) return { kind: "unchanged", hints: hints(response.headers) };
    const retryAfterMs = secondsHeader(response.headers, "Retry-After");
    if (response.status !== 200) return { kind: "failed", status: response.status, retryAfterMs };
    try {
      const jobs = await response.json();
      if (!Array.isArray(jobs)) throw new TypeError("not a list of jobs");
      return { kind: "jobs", jobs, etag: response.headers.get("ETag"), hints: hints(response.headers) };
    } catch {
      return { kind: "failed", status: response.status, retryAfterMs };
    }
  }

  // node_modules/eventsource-parser/dist/index.js
  var ParseError = class extends Error {
    constructor(message, options) {
      super(message), this.name = "ParseError", this.type = options.type, this.field = options.field, this.value = options.value, this.line = options.line;
    }
  };
  var LF = 10;
  var CR = 13;
  var SPACE = 32;
  function noop(_arg) {
  }
  function createParser(config) {
    if (typeof config == "function")
      throw new TypeError(
        "`config` must be an object, got a function instead. Did you mean `createParser({onEvent: fn})`?"
      );
    const { onEvent = noop, onError = noop, onRetry = noop, onComment, maxBufferSize } = config, pendingFragments = [];
    let pendingFragmentsLength = 0, isFirstChunk = true, id, data = "", dataLines = 0, eventType, terminated = false;
    function feed(chunk) {
      if (terminated)
        throw new Error(
          "Cannot feed parser: it was terminated after exceeding the configured max buffer size. Call `reset()` to resume parsing."
        );
      if (isFirstChunk && (isFirstChunk = false, chunk.charCodeAt(0) === 239 && chunk.charCodeAt(1) === 187 && chunk.charCodeAt(2) === 191 && (chunk = chunk.slice(3))), pendingFragments.length === 0) {
        const trailing2 = processLines(chunk);
        trailing2 !== "" && (pendingFragments.push(trailing2), pendingFragmentsLength = trailing2.length), checkBufferSize();
        return;
      }
      if (chunk.indexOf(`
`) === -1 && chunk.indexOf("\r") === -1) {
        pendingFragments.push(chunk), pendingFragmentsLength += chunk.length, checkBufferSize();
        return;
      }
      pendingFragments.push(chunk);
      const input = pendingFragments.join("");
      pendingFragments.length = 0, pendingFragmentsLength = 0;
      const trailing = processLines(input);
      trailing !== "" && (pendingFragments.push(trailing), pendingFragmentsLength = trailing.length), checkBufferSize();
    }
    function checkBufferSize() {
      maxBufferSize !== void 0 && (pendingFragmentsLength + data.length <= maxBufferSize || (terminated = true, pendingFragments.length = 0, pendingFragmentsLength = 0, id = void 0, data = "", dataLines = 0, eventType = void 0, onError(
        new ParseError(`Buffered data exceeded max buffer size of ${maxBufferSize} characters`, {
          type: "max-buffer-size-exceeded"
        })
      )));
    }
    function processLines(chunk) {
      let searchIndex = 0;
      if (chunk.indexOf("\r") === -1) {
        let lfIndex = chunk.indexOf(`
`, searchIndex);
        for (; lfIndex !== -1; ) {
          if (searchIndex === lfIndex) {
            dataLines > 0 && onEvent({ id, event: eventType, data }), id = void 0, data = "", dataLines = 0, eventType = void 0, searchIndex = lfIndex + 1, lfIndex = chunk.indexOf(`
`, searchIndex);
            continue;
          }
          const firstCharCode = chunk.charCodeAt(searchIndex);
          if (isDataPrefix(chunk, searchIndex, firstCharCode)) {
            const valueStart = chunk.charCodeAt(searchIndex + 5) === SPACE ? searchIndex + 6 : searchIndex + 5, value = chunk.slice(valueStart, lfIndex);
            if (dataLines === 0 && chunk.charCodeAt(lfIndex + 1) === LF) {
              onEvent({ id, event: eventType, data: value }), id = void 0, data = "", eventType = void 0, searchIndex = lfIndex + 2, lfIndex = chunk.indexOf(`
`, searchIndex);
              continue;
            }
            data = dataLines === 0 ? value : `${data}
${value}`, dataLines++;
          } else isEventPrefix(chunk, searchIndex, firstCharCode) ? eventType = chunk.slice(
            chunk.charCodeAt(searchIndex + 6) === SPACE ? searchIndex + 7 : searchIndex + 6,
            lfIndex
          ) || void 0 : parseLine(chunk, searchIndex, lfIndex);
          searchIndex = lfIndex + 1, lfIndex = chunk.indexOf(`
`, searchIndex);
        }
        return chunk.slice(searchIndex);
      }
      for (; searchIndex < chunk.length; ) {
        const crIndex = chunk.indexOf("\r", searchIndex), lfIndex = chunk.indexOf(`
`, searchIndex);
        let lineEnd = -1;
        if (crIndex !== -1 && lfIndex !== -1 ? lineEnd = crIndex < lfIndex ? crIndex : lfIndex : crIndex !== -1 ? crIndex === chunk.length - 1 ? lineEnd = -1 : lineEnd = crIndex : lfIndex !== -1 && (lineEnd = lfIndex), lineEnd === -1)
          break;
        parseLine(chunk, searchIndex, lineEnd), searchIndex = lineEnd + 1, chunk.charCodeAt(searchIndex - 1) === CR && chunk.charCodeAt(searchIndex) === LF && searchIndex++;
      }
      return chunk.slice(searchIndex);
    }
    function parseLine(chunk, start, end) {
      if (start === end) {
        dispatchEvent();
        return;
      }
      const firstCharCode = chunk.charCodeAt(start);
      if (isDataPrefix(chunk, start, firstCharCode)) {
        const valueStart = chunk.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, value2 = chunk.slice(valueStart, end);
        data = dataLines === 0 ? value2 : `${data}
${value2}`, dataLines++;
        return;
      }
      if (isEventPrefix(chunk, start, firstCharCode)) {
        eventType = chunk.slice(chunk.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end) || void 0;
        return;
      }
      if (firstCharCode === 105 && chunk.charCodeAt(start + 1) === 100 && chunk.charCodeAt(start + 2) === 58) {
        const value2 = chunk.slice(chunk.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end);
        value2.includes("\0") || (id = value2);
        return;
      }
      if (firstCharCode === 58) {
        if (onComment) {
          const line2 = chunk.slice(start, end);
          onComment(line2.slice(chunk.charCodeAt(start + 1) === SPACE ? 2 : 1));
        }
        return;
      }
      const line = chunk.slice(start, end), fieldSeparatorIndex = line.indexOf(":");
      if (fieldSeparatorIndex === -1) {
        processField(line, "", line);
        return;
      }
      const field = line.slice(0, fieldSeparatorIndex), offset = line.charCodeAt(fieldSeparatorIndex + 1) === SPACE ? 2 : 1, value = line.slice(fieldSeparatorIndex + offset);
      processField(field, value, line);
    }
    function processField(field, value, line) {
      switch (field) {
        case "event":
          eventType = value || void 0;
          break;
        case "data":
          data = dataLines === 0 ? value : `${data}
${value}`, dataLines++;
          break;
        case "id":
          value.includes("\0") || (id = value);
          break;
        case "retry":
          /^\d+$/.test(value) ? onRetry(parseInt(value, 10)) : onError(
            new ParseError(`Invalid \`retry\` value: "${value}"`, {
              type: "invalid-retry",
              value,
              line
            })
          );
          break;
        default:
          onError(
            new ParseError(
              `Unknown field "${field.length > 20 ? `${field.slice(0, 20)}\u2026` : field}"`,
              { type: "unknown-field", field, value, line }
            )
          );
          break;
      }
    }
    function dispatchEvent() {
      dataLines > 0 && onEvent({
        id,
        event: eventType,
        data
      }), id = void 0, data = "", dataLines = 0, eventType = void 0;
    }
    function reset(options = {}) {
      if (options.consume && pendingFragments.length > 0) {
        const incompleteLine = pendingFragments.join("");
        parseLine(incompleteLine, 0, incompleteLine.length);
      }
      isFirstChunk = true, id = void 0, data = "", dataLines = 0, eventType = void 0, pendingFragments.length = 0, pendingFragmentsLength = 0, terminated = false;
    }
    return { feed, reset };
  }
  function isDataPrefix(chunk, i, firstCharCode) {
    return firstCharCode === 100 && chunk.charCodeAt(i + 1) === 97 && chunk.charCodeAt(i + 2) === 116 && chunk.charCodeAt(i + 3) === 97 && chunk.charCodeAt(i + 4) === 58;
  }
  function isEventPrefix(chunk, i, firstCharCode) {
    return firstCharCode === 101 && chunk.charCodeAt(i + 1) === 118 && chunk.charCodeAt(i + 2) === 101 && chunk.charCodeAt(i + 3) === 110 && chunk.charCodeAt(i + 4) === 116 && chunk.charCodeAt(i + 5) === 58;
  }

  // src/stream.ts
  var Reauthenticate = class extends Error {
  };
  var BrokenEvent = class extends Error {
  };
  function jobsOf(data) {
    let jobs;
    try {
      jobs = JSON.parse(data);
    } catch {
      throw new BrokenEvent();
    }
    if (!Array.isArray(jobs)) throw new BrokenEvent();
    return jobs;
  }
  async function stream(request, lastEventId, handlers, watchdogMs) {
    const connection = new AbortController();
    const abort = () => connection.abort();
    request.signal.addEventListener("abort", abort);
    let watchdog;
    const watch = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(abort, watchdogMs);
    };
    let opened = false;
    try {
      watch();
      const response = await request.fetch(request.url, {
        headers: requestHeaders("text/event-stream", request.token, { "Last-Event-ID": lastEventId }),
        credentials: request.credentials,
        cache: "no-store",
        signal: connection.signal
      });
      if (response.status === 401) return { kind: "unauthorized" };
      const type = response.headers.get("Content-Type") ?? "";
      if (response.status !== 200 || !type.startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel().catch(() => void 0);
        return { kind: "refused", status: response.status, retryAfterMs: secondsHeader(response.headers, "Retry-After") };
      }
      opened = true;
      handlers.onOpen();
      const parser = createParser({
        onEvent(event) {
          if (event.event === "jobs") handlers.onJobs(jobsOf(event.data), event.id ?? null);
          if (event.event === "reauthenticate") throw new Reauthenticate();
        },
        onRetry: handlers.onRetry
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (; ; ) {
        watch();
        const { value, done } = await reader.read();
        if (done) return { kind: "closed" };
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (error) {
      if (error instanceof Reauthenticate) return { kind: "reauthenticate" };
      if (error instanceof BrokenEvent) return { kind: "broken" };
      if (request.signal.aborted) return { kind: "aborted" };
      return opened ? { kind: "dropped" } : { kind: "refused", status: null, retryAfterMs: null };
    } finally {
      clearTimeout(watchdog);
      request.signal.removeEventListener("abort", abort);
      connection.abort();
    }
  }

  // src/client.ts
  var INITIAL_STATE = {
    jobs: [],
    runningCount: 0,
    truncated: null,
    mode: "offline",
    error: null,
    updatedAt: null
  };
  var WAIT = /* @__PURE__ */ Symbol("wait for new credentials");
  var NO_TOKEN = /* @__PURE__ */ Symbol("getToken() failed");
  var report = (error) => (globalThis.reportError ?? console.error)(error);
  function countRunning(jobs) {
    return jobs.filter((job) => job.status === "running").length;
  }
  function createJobsClient(options = {}) {
    const {
      baseUrl = "",
      getToken,
      onUnauthorized,
      filters,
      credentials = "same-origin",
      pollIntervalMs = 1e4,
      heartbeatMs = 15e3
    } = options;
    const useStream = options.stream ?? true;
    const fetchJobs = options.fetch ?? ((...args) => globalThis.fetch(...args));
    const visibility = options.document !== void 0 ? options.document : globalThis.document ?? null;
    const activeUrl = jobsUrl(baseUrl, ACTIVE_PATH, filters);
    const streamUrl = jobsUrl(baseUrl, STREAM_PATH, filters);
    const listeners = /* @__PURE__ */ new Set();
    let state = INITIAL_STATE;
    let started = false;
    let timer;
    let inFlight = null;
    let etag = null;
    let serverWaitUntil = 0;
    let pollFailures = 0;
    let streamRefusals = 0;
    let streamWaitMs = options.streamRetryMs ?? 5e3;
    let streamAt = useStream ? 0 : Infinity;
    let refused = null;
    function update(patch) {
      state = { ...state, ...patch };
      for (const listener of [...listeners]) {
        try {
          listener(state);
        } catch (error) {
          report(error);
        }
      }
    }
    function fail(error) {
      update({ mode: "offline", error });
    }
    function hidden() {
      return visibility?.hidden === true;
    }
    function wait(ms) {
      clearTimeout(timer);
      if (started && !hidden()) timer = setTimeout(next, ms);
    }
    function holdOff(ms) {
      serverWaitUntil = Date.now() + ms;
      wait(ms);
    }
    function next() {
      clearTimeout(timer);
      if (!started || hidden() || inFlight) return;
      (Date.now() >= streamAt ? openStream() : pollOnce()).catch(report);
    }
    async function tokenOrWait() {
      let token = null;
      if (getToken) {
        try {
          token = await getToken() ?? null;
        } catch {
          return NO_TOKEN;
        }
      }
      if (refused && (!getToken || token === refused.token)) return WAIT;
      refused = null;
      return token;
    }
    async function begin(url) {
      const controller = new AbortController();
      inFlight = controller;
      const token = await tokenOrWait();
      if (inFlight !== controller) return null;
      if (token === WAIT || token === NO_TOKEN) {
        inFlight = null;
        if (token === NO_TOKEN) fail({ reason: "token", status: null, retryAt: Date.now() + pollIntervalMs });
        if (getToken) wait(pollIntervalMs);
        return null;
      }
      return { fetch: fetchJobs, url, token, credentials, signal: controller.signal };
    }
    function settle(request) {
      if (request.signal.aborted) return false;
      inFlight = null;
      return true;
    }
    function unauthorized(request) {
      refused = { token: request.token };
      fail({ reason: "unauthorized", status: 401, retryAt: null });
      onUnauthorized?.();
      if (getToken) wait(pollIntervalMs);
    }
    async function pollOnce() {
      const request = await begin(activeUrl);
      if (!request) return;
      const outcome = await poll(request, etag);
      if (!settle(request)) return;
      let delay;
      switch (outcome.kind) {
        case "jobs":
        case "unchanged": {
          const jobs = outcome.kind === "jobs" ? outcome.jobs : state.jobs;
          if (outcome.kind === "jobs") etag = outcome.etag;
          pollFailures = 0;
          const { runningCount, truncated, pollIntervalMs: hinted } = outcome.hints;
          update({
            jobs,
            runningCount: runningCount ?? countRunning(jobs),
            // A 304 without the header leaves the list, so whether it was cut, as it was.
            truncated: truncated ?? (outcome.kind === "unchanged" ? state.truncated : null),
            mode: "polling",
            error: null,
            updatedAt: /* @__PURE__ */ new Date()
          });
          delay = hinted ?? pollIntervalMs;
          break;
        }
        case "unauthorized":
          return unauthorized(request);
        case "failed":
          pollFailures += 1;
          delay = pollBackoff(pollFailures, pollIntervalMs, outcome.retryAfterMs);
          serverWaitUntil = Date.now() + delay;
          fail({ reason: outcome.status === null ? "network" : "http", status: outcome.status, retryAt: serverWaitUntil });
          break;
      }
      const now = Date.now();
      wait(Math.max(serverWaitUntil - now, Math.min(delay, streamAt - now), 0));
    }
    async function openStream() {
      const request = await begin(streamUrl);
      if (!request) return;
      const outcome = await stream(
        request,
        etag,
        {
          onOpen() {
            pollFailures = 0;
            update({ mode: "stream", error: null });
          },
          onJobs(jobs, id) {
            streamRefusals = 0;
            etag = id;
            update({ jobs, runningCount: countRunning(jobs), truncated: null, updatedAt: /* @__PURE__ */ new Date() });
          },
          onRetry(ms) {
            streamWaitMs = ms;
          }
        },
        2 * heartbeatMs
      );
      if (!settle(request)) return;
      switch (outcome.kind) {
        case "closed":
          return wait(streamWaitMs);
        // as an EventSource does: reconnect after the server's retry hint
        case "dropped":
          fail({ reason: "network", status: null, retryAt: Date.now() + streamWaitMs });
          return wait(streamWaitMs);
        case "reauthenticate":
          return next();
        // getToken() is asked for a fresh token on the way
        case "unauthorized":
          return unauthorized(request);
        case "refused":
        case "broken": {
          streamRefusals += 1;
          const retryAfterMs = outcome.kind === "refused" ? outcome.retryAfterMs : null;
          streamAt = Date.now() + streamRetry(streamRefusals, retryAfterMs ?? streamWaitMs);
          return next();
        }
        case "aborted":
          return;
      }
    }
    function pause() {
      clearTimeout(timer);
      inFlight?.abort();
      inFlight = null;
    }
    function onVisibilityChange() {
      if (hidden()) return pause();
      clearTimeout(timer);
      timer = setTimeout(next, Math.max(0, serverWaitUntil - Date.now()));
    }
    function start() {
      started = true;
      visibility?.addEventListener("visibilitychange", onVisibilityChange);
      next();
    }
    function stop() {
      started = false;
      visibility?.removeEventListener("visibilitychange", onVisibilityChange);
      pause();
    }
    return {
      subscribe(listener) {
        listeners.add(listener);
        if (!started) start();
        return () => {
          listeners.delete(listener);
          queueMicrotask(() => {
            if (listeners.size === 0 && started) stop();
          });
        };
      },
      getState: () => state,
      refresh() {
        if (!getToken) refused = null;
        serverWaitUntil = 0;
        if (started && !inFlight) next();
      }
    };
  }

  // ../../databiz/dashboard/src/time.ts
  var relative = new Intl.RelativeTimeFormat(void 0, { numeric: "auto" });
  function ago(timestamp) {
    const seconds = Math.round((Date.parse(timestamp) - Date.now()) / 1e3);
    const steps = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of steps) {
      if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
    }
    return relative.format(seconds, "second");
  }

  // ../../databiz/dashboard/src/history.ts
  var HISTORY_PATH = "/api/v2/jobs/history";
  var PAGE_SIZE = 20;
  var SEARCH_DELAY_MS = 300;
  async function badRequestText(response) {
    const body = await response.json().catch(() => null);
    if (typeof body !== "object" || body === null) return null;
    const messages = Object.values(body).flat().filter((message) => typeof message === "string");
    return messages.length ? messages.join(" ") : null;
  }
  function startHistory({ apiBase: apiBase2, onUnauthorized }) {
    const form = document.getElementById("history-filters");
    const search = form.elements.namedItem("q");
    const status = form.elements.namedItem("status");
    const list2 = document.getElementById("history-list");
    const statusLine2 = document.getElementById("history-status");
    const empty = document.getElementById("history-empty");
    const more = document.getElementById("history-more");
    const template2 = document.getElementById("history-template");
    const shown = /* @__PURE__ */ new Set();
    let next = null;
    let loading = null;
    let typing;
    function renderJob2(job) {
      const item = template2.content.firstElementChild.cloneNode(true);
      const part = (selector) => item.querySelector(selector);
      item.dataset.jobId = job.id;
      part(".history-filename").textContent = job.filename;
      const chip = part(".history-chip");
      chip.textContent = job.status;
      chip.classList.add(job.status);
      if (job.finished_at) {
        const finished = part("time");
        finished.dateTime = job.finished_at;
        finished.title = new Date(job.finished_at).toLocaleString();
        finished.textContent = ago(job.finished_at);
      }
      if (job.error) {
        const error = part(".history-error");
        error.textContent = job.error;
        error.hidden = false;
      }
      return item;
    }
    async function fetchPage(url, signal) {
      let response;
      try {
        response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
      } catch {
        return "Could not load the history: the network failed.";
      }
      if (response.status === 401) {
        onUnauthorized();
        return "Signed out: to the login page\u2026";
      }
      if (response.ok) return await response.json();
      const reason = response.status === 400 ? await badRequestText(response) : null;
      return reason ?? `Could not load the history: the server answered ${response.status}.`;
    }
    async function load(url, fromTheStart) {
      loading?.abort();
      const controller = new AbortController();
      loading = controller;
      more.disabled = true;
      statusLine2.textContent = "Loading\u2026";
      const page = await fetchPage(url, controller.signal).catch(() => "Could not load the history.");
      if (controller.signal.aborted) return;
      loading = null;
      if (fromTheStart) {
        list2.replaceChildren();
        shown.clear();
        next = null;
      }
      if (typeof page === "string") {
        statusLine2.textContent = page;
      } else {
        const added = page.results.filter((job) => !shown.has(job.id));
        for (const job of added) shown.add(job.id);
        list2.append(...added.map(renderJob2));
        next = page.next;
        statusLine2.textContent = "";
      }
      empty.hidden = typeof page === "string" || shown.size > 0;
      more.hidden = next === null;
      more.disabled = false;
    }
    function loadFirstPage() {
      clearTimeout(typing);
      const query = new URLSearchParams({ page_size: String(PAGE_SIZE) });
      const text = search.value.trim();
      if (text) query.set("q", text);
      if (status.value) query.set("status", status.value);
      void load(`${apiBase2}${HISTORY_PATH}?${query}`, true);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      loadFirstPage();
    });
    search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(loadFirstPage, SEARCH_DELAY_MS);
    });
    status.addEventListener("change", loadFirstPage);
    more.addEventListener("click", () => {
      if (next === null) return;
      const { pathname, search: query } = new URL(next, window.location.href);
      void load(pathname + query, false);
    });
    loadFirstPage();
  }

  // ../../databiz/dashboard/src/dashboard.ts
  var widget = document.getElementById("jobs-widget");
  var { apiBase = "", loginUrl = "", pollInterval, streamRetry: streamRetry2 } = widget.dataset;
  var badge = document.getElementById("running-count");
  var statusLine = document.getElementById("status-line");
  var emptyState = document.getElementById("empty-state");
  var list = document.getElementById("job-list");
  var template = document.getElementById("job-template");
  function renderJob(job) {
    const item = template.content.firstElementChild.cloneNode(true);
    const part = (selector) => item.querySelector(selector);
    item.dataset.jobId = job.id;
    part(".job-filename").textContent = job.filename;
    const chip = part(".chip");
    chip.textContent = job.status;
    chip.classList.add(job.status);
    const bar = part("progress");
    bar.value = job.progress;
    bar.setAttribute("aria-label", `${job.filename}: ${job.progress}%`);
    part(".job-percent").textContent = `${job.progress}%`;
    const started = part(".job-started");
    started.dateTime = job.started_at;
    started.title = new Date(job.started_at).toLocaleString();
    started.textContent = ago(job.started_at);
    if (job.error) {
      const error = part(".job-error");
      error.textContent = job.error;
      error.hidden = false;
    }
    return item;
  }
  function statusText({ mode, error, updatedAt }) {
    if (error?.reason === "unauthorized") return "Signed out: to the login page\u2026";
    if (mode === "offline" && error) {
      const wait = error.retryAt === null ? 0 : Math.ceil((error.retryAt - Date.now()) / 1e3);
      const reason = error.status === null ? "the network failed" : `the server answered ${error.status}`;
      return `Retrying in ${wait} s: ${reason}.`;
    }
    const time = updatedAt ? updatedAt.toLocaleTimeString() : "\u2026";
    return mode === "stream" ? `Live, updated ${time}` : `Updated ${time}`;
  }
  function render(state) {
    if (state.updatedAt === null && state.error === null) return;
    badge.textContent = String(state.runningCount);
    badge.setAttribute("aria-label", `Running jobs: ${state.runningCount}`);
    list.replaceChildren(...state.jobs.map(renderJob));
    emptyState.hidden = state.jobs.length > 0;
    statusLine.textContent = statusText(state);
    statusLine.classList.toggle("retrying", state.mode === "offline");
  }
  function toLogin() {
    window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
  }
  var client = createJobsClient({
    baseUrl: apiBase,
    // the service's own origin, under its script prefix
    pollIntervalMs: Number(pollInterval) * 1e3 || 1e4,
    streamRetryMs: Number(streamRetry2) * 1e3 || 5e3,
    onUnauthorized: toLogin
  });
  client.subscribe(render);
  startHistory({ apiBase, onUnauthorized: toLogin });
})();
