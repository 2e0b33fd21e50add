import type { MaxChanged } from './model.js';

/** `"1.5%"` -> a share, `50` -> a count (both already checked by the settings schema). */
export function parseMaxChanged(value: string | number): MaxChanged {
  if (typeof value === 'number') return { count: value };
  return { percent: Number(value.slice(0, -1)) };
}

/** How a limit reads in messages: `1%` or `50`. */
export function formatMaxChanged(limit: MaxChanged): string {
  return 'percent' in limit ? `${limit.percent}%` : String(limit.count);
}

/**
 * Whether `changed` of `total` replayed decisions is over the limit. A share is compared exactly
 * (changed / total > percent / 100, in integers scaled so 0.1% of 1,000 is 1, not 0.999...);
 * an empty replay (total 0) changes nothing and is never over.
 */
export function exceedsMaxChanged(limit: MaxChanged, changed: number, total: number): boolean {
  if ('count' in limit) return changed > limit.count;
  if (total === 0) return false;
  // percent has at most 3 decimals: compare changed * 100,000 with percent * 1,000 * total.
  return changed * 100_000 > Math.round(limit.percent * 1000) * total;
}
