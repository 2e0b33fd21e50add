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
});
