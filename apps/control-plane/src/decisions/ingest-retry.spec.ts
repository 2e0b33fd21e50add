import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/configuration.js';
import { INGEST_ATTEMPTS, INGEST_BACKOFF, ingestBackoff, retryDelayMs } from './ingest-retry.js';

describe('retryDelayMs', () => {
  it('doubles from the base and stops at 30 times the base', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => retryDelayMs(n, 1000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000,
    ]);
    expect(retryDelayMs(3, 100)).toBe(400);
    expect(retryDelayMs(100, 100)).toBe(3000);
  });

  it('treats a retry number below 1 as the first', () => {
    expect(retryDelayMs(0, 1000)).toBe(1000);
  });
});

describe('ingestBackoff (BullMQ custom strategy)', () => {
  const job = (delay: number) =>
    ({ opts: { backoff: { type: INGEST_BACKOFF, delay } } }) as unknown as Parameters<
      typeof ingestBackoff
    >[3];

  it("uses the job's own base, so the configured base applies", () => {
    expect(ingestBackoff(1, INGEST_BACKOFF, new Error('x'), job(100))).toBe(100);
    expect(ingestBackoff(4, INGEST_BACKOFF, new Error('x'), job(100))).toBe(800);
    expect(ingestBackoff(40, INGEST_BACKOFF, new Error('x'), job(1000))).toBe(30_000);
  });

  it('spends its attempts over minutes, not the ~2 minutes of 8 exponential attempts', () => {
    let total = 0;
    for (let n = 1; n < INGEST_ATTEMPTS; n++) total += retryDelayMs(n, 1000);
    expect(total).toBeGreaterThan(8 * 60_000);
  });
});

describe('STEPGATE_INGEST_RETRY_BASE', () => {
  it('defaults to 1 s and accepts ms, s and m', () => {
    expect(loadConfig({}).ingestRetryBaseMs).toBe(1000);
    expect(loadConfig({ STEPGATE_INGEST_RETRY_BASE: '100ms' }).ingestRetryBaseMs).toBe(100);
    expect(loadConfig({ STEPGATE_INGEST_RETRY_BASE: '250ms' }).ingestRetryBaseMs).toBe(250);
    expect(loadConfig({ STEPGATE_INGEST_RETRY_BASE: '2s' }).ingestRetryBaseMs).toBe(2000);
    expect(() => loadConfig({ STEPGATE_INGEST_RETRY_BASE: '1ms' })).toThrow(/between 10ms and 1m/);
    expect(() => loadConfig({ STEPGATE_INGEST_RETRY_BASE: 'soon' })).toThrow(
      /STEPGATE_INGEST_RETRY_BASE/,
    );
  });
});
