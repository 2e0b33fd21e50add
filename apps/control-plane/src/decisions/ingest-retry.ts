import type { BackoffStrategy } from 'bullmq';

/** The backoff type of ingest jobs; `delay` in the job's backoff options is the base. */
export const INGEST_BACKOFF = 'capped-exponential';

/** Retries double from the base up to this many times the base (30 s for the default 1 s). */
export const RETRY_CAP_FACTOR = 30;

/**
 * Attempts of an ingest job for failures other than a database outage (an outage holds the
 * job without spending attempts): 1+2+4+8+16 s, then every 30 s, about 10 minutes in all.
 */
export const INGEST_ATTEMPTS = 25;

/** min(base * 2^(n-1), cap): the wait before retry `n` (1-based). */
export function retryDelayMs(retry: number, baseMs: number): number {
  const n = Math.max(1, Math.floor(retry));
  // 2^(n-1) overflows to Infinity for large n, which min() caps as well.
  return Math.min(baseMs * 2 ** (n - 1), baseMs * RETRY_CAP_FACTOR);
}

/** The worker's custom backoff: capped exponential from the base each job carries. */
export const ingestBackoff: BackoffStrategy = (attemptsMade, _type, _error, job) => {
  const backoff = job?.opts.backoff;
  const base = typeof backoff === 'object' && backoff.delay ? backoff.delay : 1000;
  return retryDelayMs(attemptsMade, base);
};
