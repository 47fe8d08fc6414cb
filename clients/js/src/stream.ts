// One connection to GET /api/v2/jobs/stream over fetch (a native EventSource cannot send a Bearer token), its
// Server-Sent Events parsed by eventsource-parser, until it ends, breaks, falls silent or is refused.
import { createParser } from "eventsource-parser";

import { requestHeaders, secondsHeader, type Request } from "./http.js";
import type { BackgroundJob } from "./types.js";

export interface StreamHandlers {
  /** The server accepted the stream. */
  onOpen(): void;
  /** An `event: jobs`: the whole list, as a poll would answer it now, and its ETag (the event's id). */
  onJobs(jobs: BackgroundJob[], id: string | null): void;
  /** The server's `retry:` field: how long to wait before connecting again. */
  onRetry(ms: number): void;
}

export type StreamOutcome =
  | { kind: "closed" } // the server ended the stream (a deploy, a session's recheck): come back after `retry:`
  | { kind: "dropped" } // the connection broke, or fell silent past the watchdog
  | { kind: "broken" } // the server sent an event that is not a list of jobs: not a stream to rely on
  | { kind: "reauthenticate" } // the token expired: connect again with a fresh one
  | { kind: "unauthorized" }
  | { kind: "refused"; status: number | null; retryAfterMs: number | null }
  | { kind: "aborted" };

class Reauthenticate extends Error {}
class BrokenEvent extends Error {}

/** The list an `event: jobs` carries; anything else is a BrokenEvent. */
function jobsOf(data: string): BackgroundJob[] {
  let jobs: unknown;
  try {
    jobs = JSON.parse(data);
  } catch {
    throw new BrokenEvent();
  }
  if (!Array.isArray(jobs)) throw new BrokenEvent();
  return jobs as BackgroundJob[];
}

/**
 * Open the stream and follow it until it is over; never throws. `lastEventId` is sent as Last-Event-ID, so that a
 * server whose answer has not changed sends no event again. No byte for `watchdogMs` (heartbeats included) drops it.
 */
export async function stream(
  request: Request,
  lastEventId: string | null,
  handlers: StreamHandlers,
  watchdogMs: number,
): Promise<StreamOutcome> {
  const connection = new AbortController();
  const abort = () => connection.abort();
  request.signal.addEventListener("abort", abort);
  let watchdog: ReturnType<typeof setTimeout> | undefined;
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
      signal: connection.signal,
    });
    if (response.status === 401) return { kind: "unauthorized" };
    const type = response.headers.get("Content-Type") ?? "";
    if (response.status !== 200 || !type.startsWith("text/event-stream") || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      return { kind: "refused", status: response.status, retryAfterMs: secondsHeader(response.headers, "Retry-After") };
    }
    opened = true;
    handlers.onOpen();
    const parser = createParser({
      onEvent(event) {
        if (event.event === "jobs") handlers.onJobs(jobsOf(event.data), event.id ?? null);
        if (event.event === "reauthenticate") throw new Reauthenticate();
      },
      onRetry: handlers.onRetry,
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      watch();
      const { value, done } = await reader.read();
      if (done) return { kind: "closed" };
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    if (error instanceof Reauthenticate) return { kind: "reauthenticate" };
    if (error instanceof BrokenEvent) return { kind: "broken" };
    if (request.signal.aborted) return { kind: "aborted" };
    // No answer at all (the server is down, or silent past the watchdog) is a refusal; a break after it, a drop.
    return opened ? { kind: "dropped" } : { kind: "refused", status: null, retryAfterMs: null };
  } finally {
    clearTimeout(watchdog);
    request.signal.removeEventListener("abort", abort);
    connection.abort();
  }
}
