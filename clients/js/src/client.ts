// The client: one connection for all its subscribers, the stream first and polling meanwhile when the stream is
// refused, one request at a time, paused while the page is hidden.
import { pollBackoff, streamRetry } from "./backoff.js";
import { ACTIVE_PATH, jobsUrl, STREAM_PATH, type Request } from "./http.js";
import { poll } from "./polling.js";
import { stream, type StreamOutcome } from "./stream.js";
import type { BackgroundJob, JobsClientOptions, JobsError, JobsState } from "./types.js";

export type Listener = (state: JobsState) => void;

export interface JobsClient {
  /** Start listening (the first subscriber opens the connection); returns the function that stops. */
  subscribe(listener: Listener): () => void;
  /** The current state: the same object until something changes (what React's useSyncExternalStore needs). */
  getState(): JobsState;
  /** Ask again now: after a sign-in (a cookie's 401 waits for this), or to skip a wait. */
  refresh(): void;
}

const INITIAL_STATE: JobsState = {
  jobs: [],
  runningCount: 0,
  truncated: null,
  mode: "offline",
  error: null,
  updatedAt: null,
};

// What tokenOrWait() answers when the only token at hand is the one the server refused, or getToken() failed.
const WAIT = Symbol("wait for new credentials");
const NO_TOKEN = Symbol("getToken() failed");

// A subscriber's error is reported, never allowed to stop the client or keep the state from the other subscribers.
const report = (error: unknown) => (globalThis.reportError ?? console.error)(error);

function countRunning(jobs: readonly BackgroundJob[]): number {
  return jobs.filter((job) => job.status === "running").length;
}

export function createJobsClient(options: JobsClientOptions = {}): JobsClient {
  const {
    baseUrl = "",
    getToken,
    onUnauthorized,
    filters,
    credentials = "same-origin",
    pollIntervalMs = 10_000,
    heartbeatMs = 15_000,
  } = options;
  const useStream = options.stream ?? true;
  const fetchJobs = options.fetch ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  const visibility = options.document !== undefined ? options.document : (globalThis.document ?? null);
  const activeUrl = jobsUrl(baseUrl, ACTIVE_PATH, filters);
  const streamUrl = jobsUrl(baseUrl, STREAM_PATH, filters);

  const listeners = new Set<Listener>();
  let state = INITIAL_STATE;
  let started = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null; // the one request open now, a poll or the stream
  let etag: string | null = null; // the tag of the list held: If-None-Match, Last-Event-ID
  let serverWaitUntil = 0; // no request before this moment (Retry-After, backoff), even when the page is shown again
  let pollFailures = 0;
  let streamRefusals = 0;
  let streamWaitMs = options.streamRetryMs ?? 5_000; // the server's `retry:` hint once it sent one
  let streamAt = useStream ? 0 : Infinity; // when the stream may be tried (again)
  let refused: { token: string | null } | null = null; // the credentials of the last 401

  function update(patch: Partial<JobsState>) {
    state = { ...state, ...patch };
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        report(error);
      }
    }
  }

  function fail(error: JobsError) {
    update({ mode: "offline", error });
  }

  function hidden() {
    return visibility?.hidden === true;
  }

  function wait(ms: number) {
    clearTimeout(timer);
    if (started && !hidden()) timer = setTimeout(next, ms);
  }

  /** Wait `ms` because the server asked for it (Retry-After) or failed (backoff): nothing is sent sooner. */
  function holdOff(ms: number) {
    serverWaitUntil = Date.now() + ms;
    wait(ms);
  }

  /** Open the stream if it may be tried now, else poll; nothing while hidden, stopped or a request is open. */
  function next() {
    clearTimeout(timer);
    if (!started || hidden() || inFlight) return;
    (Date.now() >= streamAt ? openStream() : pollOnce()).catch(report);
  }

  /** The token to send (null: the cookie), or WAIT while the only one at hand is the one the server refused. */
  async function tokenOrWait(): Promise<string | null | typeof WAIT | typeof NO_TOKEN> {
    let token: string | null = null;
    if (getToken) {
      try {
        token = (await getToken()) ?? null;
      } catch {
        return NO_TOKEN;
      }
    }
    if (refused && (!getToken || token === refused.token)) return WAIT;
    refused = null;
    return token;
  }

  /** Begin a request: the controller that owns it and its token, or null when it must wait for credentials. */
  async function begin(url: string): Promise<Request | null> {
    const controller = new AbortController();
    inFlight = controller;
    const token = await tokenOrWait();
    if (inFlight !== controller) return null; // stopped or hidden meanwhile
    if (token === WAIT || token === NO_TOKEN) {
      inFlight = null;
      if (token === NO_TOKEN) fail({ reason: "token", status: null, retryAt: Date.now() + pollIntervalMs });
      // A cookie's 401 waits for refresh(); a token source is asked again at the poll interval.
      if (getToken) wait(pollIntervalMs);
      return null;
    }
    return { fetch: fetchJobs, url, token, credentials, signal: controller.signal };
  }

  /** Settle the request that `request` began; false when it was aborted meanwhile (its outcome is moot). */
  function settle(request: Request): boolean {
    if (request.signal.aborted) return false;
    inFlight = null;
    return true;
  }

  function unauthorized(request: Request) {
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
    let delay: number;
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
          updatedAt: new Date(),
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
    // The next poll, or the stream's next try if that comes first; never before the server's wait is over.
    const now = Date.now();
    wait(Math.max(serverWaitUntil - now, Math.min(delay, streamAt - now), 0));
  }

  async function openStream() {
    const request = await begin(streamUrl);
    if (!request) return;
    const outcome: StreamOutcome = await stream(
      request,
      etag,
      {
        onOpen() {
          pollFailures = 0;
          update({ mode: "stream", error: null });
        },
        onJobs(jobs, id) {
          streamRefusals = 0; // a stream that delivers, not merely one that opened
          etag = id;
          update({ jobs, runningCount: countRunning(jobs), truncated: null, updatedAt: new Date() });
        },
        onRetry(ms) {
          streamWaitMs = ms;
        },
      },
      2 * heartbeatMs,
    );
    if (!settle(request)) return;
    switch (outcome.kind) {
      case "closed":
        return wait(streamWaitMs); // as an EventSource does: reconnect after the server's retry hint
      case "dropped":
        fail({ reason: "network", status: null, retryAt: Date.now() + streamWaitMs });
        return wait(streamWaitMs);
      case "reauthenticate":
        return next(); // getToken() is asked for a fresh token on the way
      case "unauthorized":
        return unauthorized(request);
      case "refused":
      case "broken": {
        // Poll meanwhile; try the stream again after Retry-After (or the retry hint), then twice as long each time.
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
    // Shown again: ask at once, unless the server asked for a wait that is not over.
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
        // Deferred, so that an unsubscribe followed at once by a subscribe (React's StrictMode) keeps the connection.
        queueMicrotask(() => {
          if (listeners.size === 0 && started) stop();
        });
      };
    },
    getState: () => state,
    refresh() {
      // A cookie may have changed (a sign-in); a refused token stays refused: only a new one from getToken() is sent.
      if (!getToken) refused = null;
      serverWaitUntil = 0;
      if (started && !inFlight) next();
    },
  };
}
