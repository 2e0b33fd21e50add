/** The overview's windows: how far back, and the timeline's bucket for each (at most 168). */
export const WINDOWS = {
  '15m': { label: 'last 15 minutes', seconds: 15 * 60, bucketSeconds: 30 },
  '1h': { label: 'last hour', seconds: 3600, bucketSeconds: 60 },
  '24h': { label: 'last 24 hours', seconds: 86_400, bucketSeconds: 600 },
  '7d': { label: 'last 7 days', seconds: 7 * 86_400, bucketSeconds: 3600 },
} as const;

export type WindowKey = keyof typeof WINDOWS;
export type Window = (typeof WINDOWS)[WindowKey];

/**
 * `from`/`to` of a window ending now. `from` starts on a bucket boundary, so the first bucket
 * of the timeline is whole and the totals cover exactly what the charts draw.
 */
export function windowRange(window: Window, now = Date.now()): { from: string; to: string } {
  const size = window.bucketSeconds * 1000;
  const from = Math.floor((now - window.seconds * 1000) / size) * size;
  return { from: new Date(from).toISOString(), to: new Date(now).toISOString() };
}
