import { describe, expect, it } from 'vitest';
import { isoToLocal, localToIso } from './local-time';

// In whatever time zone the run has: the conversions must agree with the Date of that zone.
describe('datetime-local <-> ISO with offset', () => {
  it('sends the same instant the browser reads, with seconds and an explicit offset', () => {
    for (const local of ['2026-12-03T09:30', '2026-07-01T00:05', '2026-03-29T02:30']) {
      const iso = localToIso(local);
      expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
      expect(Date.parse(iso)).toBe(new Date(local).getTime());
    }
  });

  it('shows an ISO time back as the local minute it names, whatever its offset', () => {
    const local = '2026-12-03T09:30';
    expect(isoToLocal(localToIso(local))).toBe(local);
    const instant = new Date(Date.UTC(2026, 11, 3, 8, 30));
    expect(isoToLocal('2026-12-03T09:30:00+01:00')).toBe(isoToLocal(instant.toISOString()));
    expect(new Date(isoToLocal('2026-12-03T08:30:00Z')).getTime()).toBe(instant.getTime());
  });

  it('leaves empty and unreadable values empty (no filter)', () => {
    expect(localToIso('')).toBe('');
    expect(localToIso('not a time')).toBe('');
    expect(isoToLocal(null)).toBe('');
    expect(isoToLocal('yesterday-ish')).toBe('');
  });
});
