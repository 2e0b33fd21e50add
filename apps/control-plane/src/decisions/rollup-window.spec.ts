import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS, rawWindow, splitWindow } from './rollup-window.js';

const t = (iso: string) => new Date(iso);
const iso = (split: { from: Date; to: Date; wholeFrom: Date; wholeTo: Date }) => ({
  from: split.from.toISOString(),
  wholeFrom: split.wholeFrom.toISOString(),
  wholeTo: split.wholeTo.toISOString(),
  to: split.to.toISOString(),
});

describe('splitWindow', () => {
  it('reads the whole minutes inside the window from the roll-up, the partial ones at each edge from the log', () => {
    expect(
      iso(splitWindow(t('2026-01-01T10:00:20.500Z'), t('2026-01-01T10:05:40Z'), MINUTE_MS)),
    ).toEqual({
      from: '2026-01-01T10:00:20.500Z',
      wholeFrom: '2026-01-01T10:01:00.000Z',
      wholeTo: '2026-01-01T10:05:00.000Z',
      to: '2026-01-01T10:05:40.000Z',
    });
  });

  it('leaves an edge empty when the window starts or ends on a whole unit', () => {
    const split = splitWindow(t('2026-01-01T10:00:00Z'), t('2026-01-01T13:00:00Z'), HOUR_MS);
    expect(split.wholeFrom).toEqual(split.from);
    expect(split.wholeTo).toEqual(split.to);
  });

  it('reads everything from the log when no whole unit fits inside', () => {
    for (const [from, to] of [
      ['2026-01-01T10:00:20Z', '2026-01-01T10:00:40Z'],
      // Both edges touch 10:01, but no whole minute lies between them.
      ['2026-01-01T10:00:20Z', '2026-01-01T10:01:40Z'],
    ] as const) {
      const split = splitWindow(t(from), t(to), MINUTE_MS);
      expect(iso(split)).toEqual(iso(rawWindow(t(from), t(to))));
      expect(split.wholeFrom).toEqual(split.to);
    }
  });

  it('cuts [from, to) into three ordered parts, the middle one every whole unit inside', () => {
    const start = Date.parse('2026-01-01T09:58:59.990Z');
    for (const [fromOffset, length] of [
      [0, 20],
      [0, 61_000],
      [10, 3 * HOUR_MS],
      [1, MINUTE_MS],
      [10, MINUTE_MS - 10],
    ] as const) {
      for (const unit of [MINUTE_MS, HOUR_MS]) {
        const from = start + fromOffset;
        const split = splitWindow(new Date(from), new Date(from + length), unit);
        const f = split.from.getTime();
        const wf = split.wholeFrom.getTime();
        const wt = split.wholeTo.getTime();
        const to = split.to.getTime();
        expect(f).toBeLessThanOrEqual(wf);
        expect(wf).toBeLessThanOrEqual(wt);
        expect(wt).toBeLessThanOrEqual(to);
        expect(f).toBe(from);
        expect(to).toBe(from + length);
        if (wf < wt) {
          // Whole units, and no whole unit of the window left to the edges.
          expect([wf % unit, wt % unit]).toEqual([0, 0]);
          expect(wf - unit).toBeLessThan(f);
          expect(wt + unit).toBeGreaterThan(to);
        } else {
          // Nothing from the roll-up: no whole unit fits in the window.
          expect(wf).toBe(to);
          expect(Math.floor(to / unit) * unit - Math.ceil(f / unit) * unit).toBeLessThan(unit);
        }
      }
    }
  });
});
