import { describe, expect, it } from 'vitest';
import { runtimeEnvironment } from './environment.js';
import { fastZonedDate } from './zoned-time.js';

const zones = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'America/St_Johns',
];
// Around DST transitions in several zones, midnights and a leap day.
const instants = [
  '2026-03-29T00:59:59Z',
  '2026-03-29T01:00:00Z',
  '2026-10-25T00:59:59Z',
  '2026-10-25T01:00:00Z',
  '2026-03-08T06:59:59Z',
  '2026-03-08T07:00:00Z',
  '2026-11-01T05:59:59Z',
  '2026-11-01T06:00:00Z',
  '2028-02-29T23:30:00Z',
  '2026-11-22T23:59:59Z',
  '2026-11-23T00:00:00Z',
  '1999-12-31T23:59:59Z',
].map((text) => new Date(text));

describe('fast time zones for CEL timestamps', () => {
  it('returns exactly what Date#toLocaleString returns', () => {
    for (const instant of instants) {
      for (const timeZone of zones) {
        const fast = fastZonedDate(instant.getTime());
        expect(fast.toLocaleString('en-US', { timeZone })).toBe(
          instant.toLocaleString('en-US', { timeZone }),
        );
        // memoised second call
        expect(fast.toLocaleString('en-US', { timeZone })).toBe(
          instant.toLocaleString('en-US', { timeZone }),
        );
      }
    }
  });

  it('keeps one string per zone and whole second: the same within a second, the next one after it', () => {
    const at = (iso: string) => fastZonedDate(new Date(iso).getTime());
    const timeZone = 'Europe/Berlin';
    expect(at('2026-11-23T07:59:59.001Z').toLocaleString('en-US', { timeZone })).toBe(
      '11/23/2026, 8:59:59 AM',
    );
    expect(at('2026-11-23T07:59:59.999Z').toLocaleString('en-US', { timeZone })).toBe(
      '11/23/2026, 8:59:59 AM',
    );
    expect(at('2026-11-23T08:00:00.000Z').toLocaleString('en-US', { timeZone })).toBe(
      '11/23/2026, 9:00:00 AM',
    );
    // Back to an earlier second, and before 1970 (negative epoch milliseconds).
    expect(at('2026-11-23T07:59:59.500Z').toLocaleString('en-US', { timeZone })).toBe(
      '11/23/2026, 8:59:59 AM',
    );
    expect(at('1969-12-31T23:59:59.500Z').toLocaleString('en-US', { timeZone: 'UTC' })).toBe(
      '12/31/1969, 11:59:59 PM',
    );
    expect(at('1970-01-01T00:00:00.000Z').toLocaleString('en-US', { timeZone: 'UTC' })).toBe(
      '1/1/1970, 12:00:00 AM',
    );
  });

  it('falls back to the native behaviour for any other call', () => {
    const fast = fastZonedDate((instants[0] as Date).getTime());
    expect(fast.toLocaleString('de-DE', { timeZone: 'UTC' })).toBe(
      (instants[0] as Date).toLocaleString('de-DE', { timeZone: 'UTC' }),
    );
    expect(fast.toLocaleString()).toBe((instants[0] as Date).toLocaleString());
    expect(() => fast.toLocaleString('en-US', { timeZone: 'Not/AZone' })).toThrow(RangeError);
  });

  it('gives CEL the same day of week and hour as the library computes natively', () => {
    const env = runtimeEnvironment();
    const expression = env.parse(
      '[now.getDayOfWeek("Europe/Berlin"), now.getHours("America/New_York"), now.getMinutes("Asia/Kolkata")]',
    ) as unknown as (ctx: object) => unknown;
    for (const instant of instants) {
      const native = expression({ now: new Date(instant.getTime()) });
      expect(expression({ now: fastZonedDate(instant.getTime()) })).toEqual(native);
    }
  });
});
