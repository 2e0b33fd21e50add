import { describe, expect, it } from 'vitest';
import { applyMergePatch, changedPaths, jsonEqual } from './json-merge.js';

describe('applyMergePatch (RFC 7396)', () => {
  // The examples of RFC 7396 appendix A: [target, patch, result].
  const EXAMPLES: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];

  it.each(EXAMPLES)('%j patched with %j is %j', (target, patch, result) => {
    const before = JSON.stringify(target);
    expect(applyMergePatch(target, patch)).toEqual(result);
    expect(JSON.stringify(target)).toBe(before);
  });

  it('keeps "__proto__" as an own key (for validation to refuse), never as the prototype', () => {
    const patched = applyMergePatch({}, JSON.parse('{"__proto__": {"admin": true}}')) as object;
    expect(Object.getPrototypeOf(patched)).toBe(Object.prototype);
    expect(Object.keys(patched)).toEqual(['__proto__']);
    expect((patched as { admin?: unknown }).admin).toBeUndefined();
  });
});

describe('changedPaths', () => {
  it('names the members added, removed and changed, as JSON Pointers', () => {
    expect(
      changedPaths({ a: 1, b: { c: 2, d: 3 }, 'x/y': 1 }, { a: 1, b: { c: 5 }, e: 1, 'x/y': 2 }),
    ).toEqual(['/b/c', '/b/d', '/e', '/x~1y']);
  });

  it('is "" for a whole value that changed, and empty when nothing did', () => {
    expect(changedPaths(['10.0.0.0/8'], ['10.0.0.0/8', '192.0.2.0/24'])).toEqual(['']);
    expect(changedPaths({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    expect(changedPaths(true, false)).toEqual(['']);
  });

  it('stops after the limit with a marker', () => {
    const after = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
    expect(changedPaths({}, after, 3)).toEqual(['/k0', '/k1', '/k2', '…']);
  });
});

describe('jsonEqual', () => {
  it('ignores key order and tells lists, objects and values apart', () => {
    expect(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({}, [])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(false);
  });
});
