import { TIMELINE_MAX_BUCKETS } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { WINDOWS, windowRange, type WindowKey } from './windows';

const NOW = Date.parse('2026-12-03T07:31:47.250Z');

describe('windowRange', () => {
  it.each(Object.keys(WINDOWS) as WindowKey[])(
    '%s ends now, starts on a bucket boundary at most one bucket early, within the timeline limit',
    (key) => {
      const window = WINDOWS[key];
      const { from, to } = windowRange(window, NOW);
      const size = window.bucketSeconds * 1000;
      expect(to).toBe(new Date(NOW).toISOString());
      expect(Date.parse(from) % size).toBe(0);
      const span = NOW - Date.parse(from);
      expect(span).toBeGreaterThanOrEqual(window.seconds * 1000);
      expect(span).toBeLessThan(window.seconds * 1000 + size);
      expect(Math.ceil(span / size)).toBeLessThanOrEqual(TIMELINE_MAX_BUCKETS);
    },
  );

  it('cuts the last hour into whole minutes', () => {
    expect(windowRange(WINDOWS['1h'], NOW)).toEqual({
      from: '2026-12-03T06:31:00.000Z',
      to: '2026-12-03T07:31:47.250Z',
    });
  });
});
