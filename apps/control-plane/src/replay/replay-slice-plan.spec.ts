import { describe, expect, it } from 'vitest';
import type { LogCursor, ReplaySlice } from './replay-page-query.js';
import { sliceCount, sliceEnds, slicesBetween } from './replay-slice-plan.js';

/** (at, id) order as the log sorts it (ids here are plain ASCII, where collations agree). */
function compare(a: LogCursor, b: LogCursor): number {
  const at = a.at.getTime() - b.at.getTime();
  return at !== 0 ? at : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The page query's slice condition: after `after`, up to and including `through`. */
function inSlice(record: LogCursor, slice: ReplaySlice): boolean {
  return (
    (slice.after === null || compare(record, slice.after) > 0) &&
    (slice.through === null || compare(record, slice.through) <= 0)
  );
}

/** `count` records in (at, id) order, `perInstant` of them sharing each timestamp. */
function records(count: number, perInstant: number): LogCursor[] {
  const start = Date.UTC(2026, 11, 1);
  return Array.from({ length: count }, (_, n) => ({
    at: new Date(start + Math.floor(n / perInstant) * 1000),
    id: `r-${String(n).padStart(6, '0')}`,
  }));
}

describe('replay slice plan', () => {
  it('ends slices at about equal record counts', () => {
    expect(sliceEnds(10, 2)).toEqual([4]);
    expect(sliceEnds(6001, 3)).toEqual([1999, 3999]);
    expect(sliceEnds(1000, 4)).toEqual([249, 499, 749]);
  });

  it('plans no empty slice when the window holds fewer records than slices', () => {
    expect(sliceEnds(0, 2)).toEqual([]);
    expect(sliceEnds(1, 2)).toEqual([]);
    expect(sliceEnds(3, 4)).toEqual([0, 1]);
  });

  it('puts every record in exactly one slice, records sharing a timestamp across a bound too', () => {
    for (const [count, perInstant, slices] of [
      [6001, 300, 3],
      [1000, 1000, 2],
      [17, 5, 4],
      [5, 1, 8],
    ] as const) {
      const log = records(count, perInstant);
      const ends = sliceEnds(count, slices).map((offset) => log[offset]!);
      const planned = slicesBetween(ends);
      expect(planned).toHaveLength(ends.length + 1);
      for (const record of log)
        expect(
          planned.filter((slice) => inSlice(record, slice)),
          record.id,
        ).toHaveLength(1);
      const sizes = planned.map((slice) => log.filter((record) => inSlice(record, slice)).length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('a bound inside a run of equal timestamps splits the run by id', () => {
    const log = records(600, 600);
    const [first, second] = slicesBetween([log[299]!]);
    expect(
      log
        .filter((record) => inSlice(record, first!))
        .map((r) => r.id)
        .at(-1),
    ).toBe('r-000299');
    expect(log.filter((record) => inSlice(record, second!))[0]!.id).toBe('r-000300');
  });

  it('no bounds: one slice, the whole window', () => {
    expect(slicesBetween([])).toEqual([{ after: null, through: null }]);
  });

  it('starts workers only for a window worth it', () => {
    expect(sliceCount(1_000_000, 1, 20_000)).toBe(1);
    expect(sliceCount(19_999, 2, 20_000)).toBe(1);
    expect(sliceCount(20_000, 2, 20_000)).toBe(2);
    expect(sliceCount(1, 4, 0)).toBe(1);
    expect(sliceCount(4, 4, 0)).toBe(4);
  });
});
