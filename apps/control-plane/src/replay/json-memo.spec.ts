import { describe, expect, it } from 'vitest';
import { JsonMemo } from './json-memo.js';

describe('JsonMemo', () => {
  it('parses a text once and hands every row the same frozen value', () => {
    const memo = new JsonMemo();
    const text = '[{"policy": "docs", "rule": "read", "effect": "allow"}]';
    const first = memo.parse(text) as { policy: string }[];
    expect(first).toEqual([{ policy: 'docs', rule: 'read', effect: 'allow' }]);
    expect(memo.parse(`${text}`)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first[0])).toBe(true);
    expect(() => {
      first[0]!.policy = 'other';
    }).toThrow(TypeError);
  });

  it('reads null as null and parses a long text afresh each time', () => {
    const memo = new JsonMemo();
    expect(memo.parse(null)).toBeNull();
    const long = JSON.stringify({ value: 'x'.repeat(600) });
    const first = memo.parse(long);
    expect(first).toEqual({ value: 'x'.repeat(600) });
    expect(memo.parse(long)).not.toBe(first);
  });

  it('keeps at most its bound of texts', () => {
    const memo = new JsonMemo(2);
    const a = memo.parse('{"a": 1}');
    memo.parse('{"b": 1}');
    memo.parse('{"c": 1}');
    // Emptied when full: "a" is parsed again, equal but not the same object.
    expect(memo.parse('{"a": 1}')).toEqual(a);
    expect(memo.parse('{"a": 1}')).not.toBe(a);
  });
});
