// One poll of GET /api/v2/jobs/active: If-None-Match, and what the answer says (README, "Polling this endpoint well").
import { requestHeaders, secondsHeader, type Request } from "./http.js";
import type { BackgroundJob } from "./types.js";

/** What the server suggests beside the list (the hint headers of a 200 and a 304 alike). */
export interface Hints {
  runningCount: number | null;
  truncated: boolean | null;
  pollIntervalMs: number | null;
}

export type PollOutcome =
  | { kind: "jobs"; jobs: BackgroundJob[]; etag: string | null; hints: Hints }
  | { kind: "unchanged"; hints: Hints }
  | { kind: "unauthorized" }
  | { kind: "failed"; status: number | null; retryAfterMs: number | null };

function hints(headers: Headers): Hints {
  const running = headers.get("X-Jobs-Running");
  const truncated = headers.get("X-Jobs-Truncated");
  return {
    runningCount: running !== null && /^\d+$/.test(running) ? Number(running) : null,
    truncated: truncated === null ? null : truncated === "true",
    pollIntervalMs: secondsHeader(headers, "X-Poll-Interval") || null,
  };
}

/** Ask for the list once, sending the tag of the list held (`etag`); never throws. */
export async function poll(request: Request, etag: string | null): Promise<PollOutcome> {
  let response: Response;
  try {
    response = await request.fetch(request.url, {
      headers: requestHeaders("application/json", request.token, { "If-None-Match": etag }),
      credentials: request.credentials,
      cache: "no-store",
      signal: request.signal,
    });
  } catch {
    return { kind: "failed", status: null, retryAfterMs: null };
  }
  if (response.status === 401) return { kind: "unauthorized" };
  if (response.status === 304) return { kind: "unchanged", hints: hints(response.headers) };
  const retryAfterMs = secondsHeader(response.headers, "Retry-After");
  if (response.status !== 200) return { kind: "failed", status: response.status, retryAfterMs };
  try {
    const jobs: unknown = await response.json();
    if (!Array.isArray(jobs)) throw new TypeError("not a list of jobs");
    return { kind: "jobs", jobs: jobs as BackgroundJob[], etag: response.headers.get("ETag"), hints: hints(response.headers) };
  } catch {
    return { kind: "failed", status: response.status, retryAfterMs };
  }
}
