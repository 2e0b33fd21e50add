import { describe, expect, it } from 'vitest';

import { canonicalJson, sha256Hex } from './canonical.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth, without whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], d: { z: 1, y: { q: 2, p: 3 } } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":{"p":3,"q":2},"z":1}}',
    );
  });

  it('is independent of key insertion order', () => {
    const one = { rules: [{ name: 'a', effect: 'deny' }], settings: { onError: 'deny', x: 1 } };
    const two = { settings: { x: 1, onError: 'deny' }, rules: [{ effect: 'deny', name: 'a' }] };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('orders keys by UTF-16 code unit (RFC 8785), not by code point or locale', () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF by code unit.
    expect(canonicalJson({ '\uffff': 1, '😀': 2, é: 3, Z: 4, a: 5 })).toBe(
      '{"Z":4,"a":5,"é":3,"😀":2,"\uffff":1}',
    );
  });

  it('drops undefined members and writes undefined array items as null', () => {
    expect(canonicalJson({ a: undefined, b: [1, undefined, 2] })).toBe('{"b":[1,null,2]}');
  });

  it('encodes strings and numbers as JSON does', () => {
    expect(canonicalJson(['a"b\n\u0001', 1e21, -0, 0.1, 5e-7])).toBe(
      '["a\\"b\\n\\u0001",1e+21,0,0.1,5e-7]',
    );
  });

  it('goes through toJSON (dates)', () => {
    expect(canonicalJson({ at: new Date('2026-11-23T10:00:00Z') })).toBe(
      '{"at":"2026-11-23T10:00:00.000Z"}',
    );
  });

  it('survives a JSON round trip unchanged', () => {
    const value = { z: [1.5, 'é', { b: null, a: false }], a: { '😀': 1, '\uffff': 2 } };
    const text = canonicalJson(value);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('rejects non-finite numbers', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson([Infinity])).toThrow(/non-finite/);
    expect(() => canonicalJson(-Infinity)).toThrow(/non-finite/);
  });

  it('rejects cycles but accepts a shared, acyclic reference', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);

    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('refuses a bigint and a Map with an error naming them, rather than encoding them', () => {
    expect(() => canonicalJson({ n: 10n })).toThrow('canonical JSON cannot encode a bigint');
    expect(() => canonicalJson({ m: new Map([['a', 1]]) })).toThrow(
      'canonical JSON cannot encode a Map: only plain objects and arrays',
    );
    expect(() => canonicalJson([new Set([1])])).toThrow('cannot encode a Set');
  });

  it('rejects values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ n: 10n })).toThrow(/bigint/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalJson(new Map([['a', 1]]))).toThrow(/Map/);
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
  });
});

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vectors', async () => {
    expect(await sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(await sha256Hex('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('hashes the UTF-8 bytes of text, and raw bytes as given', async () => {
    expect(await sha256Hex('é')).toBe(await sha256Hex(new Uint8Array([0xc3, 0xa9])));
    expect(await sha256Hex('é')).not.toBe(await sha256Hex(new Uint8Array([0xe9])));
  });
});
