import { describe, expect, it } from 'vitest';
import { GitSourceError } from './git-errors.js';
import { normalizePolicyPath, PolicyFileBudget } from './policy-files.js';

describe('normalizePolicyPath', () => {
  it.each([
    ['.', ''],
    ['', ''],
    ['./', ''],
    ['policies', 'policies'],
    ['./policies/', 'policies'],
    ['a//b/./c', 'a/b/c'],
    ['a\\b', 'a/b'],
  ])('%j -> %j', (input, expected) => expect(normalizePolicyPath(input)).toBe(expected));

  it.each(['../x', 'a/../../x', '/etc'])('refuses %j', (input) => {
    expect(() => normalizePolicyPath(input)).toThrow(GitSourceError);
  });
});

describe('PolicyFileBudget', () => {
  it('charges files against both limits', () => {
    const budget = new PolicyFileBudget({ maxFileBytes: 10, maxTotalBytes: 15 }, 'abc1234:.');
    budget.charge('a.yaml', 10);
    expect(() => budget.charge('b.yaml', 11)).toThrow(/b\.yaml is 11 bytes/);
    expect(() => budget.charge('c.yaml', 6)).toThrow(
      /exceed 15 bytes in total \(reached at c\.yaml\)/,
    );
  });
});
