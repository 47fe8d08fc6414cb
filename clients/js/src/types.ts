// The job's shape and the state a client keeps, from the service's own OpenAPI schema (src/schema.ts is generated).
import type { components } from "./schema.js";

/** One background job, exactly as `GET /api/v2/jobs/active` and each stream event carry it. */
export type BackgroundJob = components["schemas"]["BackgroundJob"];
export type JobStatus = components["schemas"]["JobStatusEnum"];
export type JobType = components["schemas"]["JobTypeEnum"];
/** A page of `GET /api/v2/jobs/history`: finished jobs, newest first, and the links to the pages around it. */
export type HistoryPage = components["schemas"]["PaginatedBackgroundJobList"];

/** The list's filters: only jobs with one of these statuses, of one of these types. */
export interface JobFilters {
  status?: readonly JobStatus[];
  type?: readonly JobType[];
}

/**
 * How the jobs are kept up to date: `stream` over an open Server-Sent Events stream, `polling` by polls that the
 * server answers, `offline` while nothing answers (a network error, a 5xx, a 429, a 401, a dropped stream): the
 * last jobs stay shown and the client tries again.
 */
export type Mode = "stream" | "polling" | "offline";

/**
 * Why the last request failed (`network`: no answer; `http`: an error status, or an answer that is not a list;
 * `unauthorized`: a 401; `token`: getToken() threw), and when the client tries again (epoch milliseconds; null: not
 * by itself).
 */
export interface JobsError {
  reason: "network" | "http" | "unauthorized" | "token";
  status: number | null;
  retryAt: number | null;
}

export interface JobsState {
  /** The whole list the server last sent, replaced (never merged) by each answer. */
  jobs: readonly BackgroundJob[];
  /** Running jobs among those asked for: the server's X-Jobs-Running when polling, counted in the list on a stream. */
  runningCount: number;
  /** Whether the server's bound cut the list (X-Jobs-Truncated); null on a stream, whose events do not say. */
  truncated: boolean | null;
  mode: Mode;
  error: JobsError | null;
  /** When the last answer arrived (a 200, a 304 or a stream event); null before the first. */
  updatedAt: Date | null;
}

export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

/** What a page needs to know of its visibility: `document` in a browser. */
export interface VisibilitySource {
  readonly hidden: boolean;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

export interface JobsClientOptions {
  /** The API's origin, e.g. "https://api.databiz.example"; "" (the default) is the page's own origin. */
  baseUrl?: string;
  /** The Bearer access token, asked for before each connection; without it the browser's cookie is sent. */
  getToken?: TokenSource;
  /** Called once when the server refuses the credentials (401); a new token from getToken() resumes. */
  onUnauthorized?: () => void;
  filters?: JobFilters;
  /** fetch's credentials: "same-origin" (default), or "include" for a cookie sent to another origin. */
  credentials?: RequestCredentials;
  /** Try the stream first (default true); false polls only. */
  stream?: boolean;
  /** The poll interval until the server's X-Poll-Interval says otherwise (default 10 000 ms). */
  pollIntervalMs?: number;
  /** The wait before a stream is opened again, until the server's `retry:` says otherwise (default 5 000 ms). */
  streamRetryMs?: number;
  /** The server's heartbeat (JOBS_STREAM_HEARTBEAT, default 15 000 ms): a stream silent for twice that is reopened. */
  heartbeatMs?: number;
  /** For tests and other runtimes: the fetch to use and the page's visibility (null: always visible). */
  fetch?: typeof fetch;
  document?: VisibilitySource | null;
}
