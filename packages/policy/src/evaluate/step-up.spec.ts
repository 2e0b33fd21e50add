import { describe, expect, it } from 'vitest';
import { approverKey, countApprovals, Levels } from './step-up.js';

describe('countApprovals', () => {
  it('counts distinct approvers other than the requester', () => {
    expect(countApprovals(['bob', 'carol'], 'alice')).toBe(2);
    expect(countApprovals(['bob', 'bob'], 'alice')).toBe(1);
    expect(countApprovals(['alice', 'bob'], 'alice')).toBe(1);
    expect(countApprovals([], 'alice')).toBe(0);
  });

  it('counts subjects differing only by case (or compatibility form) once', () => {
    expect(countApprovals(['bob', 'Bob', 'BOB'], 'alice')).toBe(1);
    // Full-width letters and the sharp s fold to their plain forms.
    expect(countApprovals(['ｂｏｂ', 'bob'], 'alice')).toBe(1);
    expect(countApprovals(['strauß', 'STRAUSS'], 'alice')).toBe(1);
  });

  it('never counts the requester, whatever the case', () => {
    expect(countApprovals(['ALICE', 'Alice', 'bob'], 'alice')).toBe(1);
    expect(countApprovals(['alice'], 'ALICE')).toBe(0);
  });
});

describe('approverKey', () => {
  it('folds case and compatibility forms, and keeps different subjects apart', () => {
    expect(approverKey('Bob')).toBe(approverKey('bob'));
    expect(approverKey('bob@Example.COM')).toBe('bob@example.com');
    expect(approverKey('bob')).not.toBe(approverKey('rob'));
  });
});

describe('Levels', () => {
  const levels = new Levels([
    { name: 'pwd', acr: ['urn:pwd'], amr: ['pwd'] },
    { name: 'mfa', acr: ['urn:mfa'], amr: ['otp'] },
    { name: 'phr', acr: ['urn:phr'], amr: ['hwk'] },
  ]);
  const now = new Date('2026-11-23T10:00:00Z');
  const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

  it('merges to the highest level, the shortest maxAge and the most approvals', () => {
    expect(
      levels.merge([
        { level: 'mfa', maxAge: 600 },
        { level: 'phr', maxAge: 3600, approvals: 2 },
        { approvals: 1 },
      ]),
    ).toEqual({ level: 'phr', maxAge: 600, approvals: 2 });
  });

  it('names the unmet parts in the order level, maxAge, approvals', () => {
    const required = { level: 'mfa', maxAge: 900, approvals: 1 };
    const stale = levels.resolve({ amr: ['otp'], authTime: minutesAgo(20) });
    expect(levels.unmet(required, stale, 'alice', now)).toEqual(['maxAge', 'approvals']);
    expect(levels.unmet(required, levels.resolve(undefined), 'alice', now)).toEqual([
      'level',
      'maxAge',
      'approvals',
    ]);
    const met = levels.resolve({ amr: ['hwk'], authTime: minutesAgo(1), approvals: ['bob'] });
    expect(levels.unmet(required, met, 'alice', now)).toEqual([]);
  });

  it('meets a requirement exactly when no part is unmet', () => {
    const requirements = [
      {},
      { level: 'mfa' },
      { level: 'phr' },
      { maxAge: 300 },
      { approvals: 1 },
      { level: 'mfa', maxAge: 900, approvals: 1 },
      { level: 'nope' },
    ];
    const evidence = [
      undefined,
      { amr: ['otp'], authTime: minutesAgo(20) },
      { amr: ['otp'], authTime: minutesAgo(1) },
      { amr: ['hwk'], authTime: minutesAgo(1), approvals: ['bob'] },
      { level: 'phr', approvals: ['alice', 'ALICE'] },
      { acr: 'unknown', authTime: 'not a time', approvals: ['bob', 'carol'] },
    ];
    let met = 0;
    for (const required of requirements)
      for (const given of evidence) {
        const auth = levels.resolve(given);
        const expected = levels.unmet(required, auth, 'alice', now).length === 0;
        expect(
          levels.meets(required, auth, 'alice', now),
          JSON.stringify({ required, given }),
        ).toBe(expected);
        if (expected) met++;
      }
    expect(met).toBeGreaterThan(5);
    expect(met).toBeLessThan(requirements.length * evidence.length);
  });
});
