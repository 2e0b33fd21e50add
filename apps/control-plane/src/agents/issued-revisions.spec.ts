import { describe, expect, it } from 'vitest';
import { isUnknownRevision, wasIssued } from './issued-revisions.js';

describe('issued revisions', () => {
  it('counts 1..live revision as issued, anything past it or below 1 as not', () => {
    expect([1, 7, 12].map((r) => wasIssued(r, 12))).toEqual([true, true, true]);
    expect([0, -1, 13, 2_000_000_000].map((r) => wasIssued(r, 12))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('flags a reported revision never issued, but not "holds nothing" (none or 0)', () => {
    expect(isUnknownRevision(2_000_000_000, 12)).toBe(true);
    expect(isUnknownRevision(13, 12)).toBe(true);
    expect(isUnknownRevision(-3, 12)).toBe(true);
    expect(isUnknownRevision(12, 12)).toBe(false);
    expect(isUnknownRevision(0, 12)).toBe(false);
    expect(isUnknownRevision(null, 12)).toBe(false);
    expect(isUnknownRevision(undefined, 0)).toBe(false);
    // Nothing issued yet: any revision is unknown.
    expect(isUnknownRevision(1, 0)).toBe(true);
  });
});
