// What both ways of reading the jobs send and read: the URL with its filters, the headers, the hint headers.
import type { JobFilters } from "./types.js";

export const ACTIVE_PATH = "/api/v2/jobs/active";
export const STREAM_PATH = "/api/v2/jobs/stream";

/** A request as the client makes it: where, with which credentials, abortable. */
export interface Request {
  fetch: typeof fetch;
  url: string;
  token: string | null;
  credentials: RequestCredentials;
  signal: AbortSignal;
}

/** The URL of `path` on `baseUrl` with the list's filters, each one comma-separated parameter. */
export function jobsUrl(baseUrl: string, path: string, filters: JobFilters = {}): string {
  const query = (["status", "type"] as const)
    .filter((name) => filters[name]?.length)
    .map((name) => `${name}=${filters[name]!.map(encodeURIComponent).join(",")}`)
    .join("&");
  return `${baseUrl.replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`;
}

/** The headers of a request: what it accepts, the Bearer token if any (never a token in the URL), and `extra`. */
export function requestHeaders(accept: string, token: string | null, extra: Record<string, string | null>) {
  const headers: Record<string, string> = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  for (const [name, value] of Object.entries(extra)) if (value !== null) headers[name] = value;
  return headers;
}

/**
 * A header holding a wait (X-Poll-Interval, Retry-After), in milliseconds: seconds, or for Retry-After an HTTP date
 * as proxies send it; null when absent or unreadable.
 */
export function secondsHeader(headers: Headers, name: string): number | null {
  const value = headers.get(name)?.trim();
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : null;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
