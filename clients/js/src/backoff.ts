// How long to wait after a failure: polls back off exponentially with jitter, a refused stream is tried again later
// and later. README, "Polling this endpoint well", rule 6.

export const MAX_POLL_BACKOFF_MS = 5 * 60_000;
export const MAX_STREAM_RETRY_MS = 10 * 60_000;

/**
 * The wait before the next poll after `failures` failed ones in a row: `baseMs` × 2^failures, at most 5 minutes, of
 * which a random half (jitter, so that tabs that failed together do not come back together), never sooner than the
 * server's Retry-After.
 */
export function pollBackoff(failures: number, baseMs: number, retryAfterMs: number | null): number {
  const exponential = Math.min(baseMs * 2 ** failures, MAX_POLL_BACKOFF_MS);
  return Math.max(exponential / 2 + Math.random() * (exponential / 2), retryAfterMs ?? 0);
}

/** The wait before the stream is tried again after `refusals` refusals in a row: `baseMs`, doubling, at most 10 minutes. */
export function streamRetry(refusals: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(refusals - 1, 0), MAX_STREAM_RETRY_MS);
}
