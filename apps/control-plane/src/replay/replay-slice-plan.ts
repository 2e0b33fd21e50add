import type { LogCursor, ReplaySlice } from './replay-page-query.js';

/**
 * The offsets, in the window's (at, id) order, of the records that end each slice but the last,
 * so that `slices` slices hold about `total / slices` records each. Fewer when the window holds
 * fewer records than slices (a slice is never empty by plan).
 */
export function sliceEnds(total: number, slices: number): number[] {
  const ends: number[] = [];
  for (let k = 1; k < slices; k++) {
    const end = Math.floor((k * total) / slices) - 1;
    const previous = ends[ends.length - 1] ?? -1;
    if (end > previous && end < total - 1) ends.push(end);
  }
  return ends;
}

/**
 * The slices that the records at `ends` bound: (start, e1], (e1, e2], ..., (en, end), so each
 * record of the window is in exactly one. `ends` in (at, id) order, as one statement reads
 * them (ReplayPageReader.positions): separate reads could disagree when records are deleted in
 * between (retention), and slices from bounds out of order would overlap.
 */
export function slicesBetween(ends: readonly LogCursor[]): ReplaySlice[] {
  const slices: ReplaySlice[] = [];
  let after: LogCursor | null = null;
  for (const through of ends) {
    slices.push({ after, through });
    after = through;
  }
  slices.push({ after, through: null });
  return slices;
}

/**
 * How many slices (worker threads) a replay of `total` records gets: one (in process, no
 * thread started) below `minRecords`, where starting workers would cost more than it saves.
 */
export function sliceCount(total: number, workers: number, minRecords: number): number {
  if (workers <= 1 || total < Math.max(minRecords, workers)) return 1;
  return workers;
}
