import { describe, expect, it } from 'vitest';
import { approverKey, countApprovals } from './step-up.js';

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
