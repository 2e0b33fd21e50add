import { describe, expect, it } from 'vitest';
import { publicJwk, publicKeys } from './public-jwk.js';

describe('publicJwk', () => {
  it('keeps the public members of RSA, EC and OKP keys and drops private ones', () => {
    expect(
      publicJwk({ kty: 'RSA', kid: 'r', n: 'N', e: 'AQAB', d: 'D', p: 'P', q: 'Q', dp: 'x' }),
    ).toEqual({
      kty: 'RSA',
      kid: 'r',
      n: 'N',
      e: 'AQAB',
    });
    expect(
      publicJwk({ kty: 'EC', crv: 'P-256', x: 'X', y: 'Y', d: 'D', use: 'sig', alg: 'ES256' }),
    ).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: 'X',
      y: 'Y',
      use: 'sig',
      alg: 'ES256',
    });
    expect(publicJwk({ kty: 'OKP', crv: 'Ed25519', x: 'X', d: 'D' })).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: 'X',
    });
  });

  it('drops symmetric, encryption-only, unknown and incomplete keys', () => {
    expect(publicJwk({ kty: 'oct', k: 'secret' })).toBeUndefined();
    expect(publicJwk({ kty: 'RSA', n: 'N', e: 'AQAB', use: 'enc' })).toBeUndefined();
    expect(publicJwk({ kty: 'XYZ', x: 'X' })).toBeUndefined();
    expect(publicJwk({ kty: 'EC', crv: 'P-256', x: 'X' })).toBeUndefined();
    expect(publicJwk({ n: 'N', e: 'AQAB' })).toBeUndefined();
  });

  it('publicKeys keeps order and skips what is dropped', () => {
    expect(
      publicKeys([
        { kty: 'oct', k: 's' },
        { kty: 'OKP', crv: 'Ed25519', x: 'A', kid: '1' },
        { kty: 'OKP', crv: 'Ed25519', x: 'B', kid: '2' },
      ]).map((key) => key.kid),
    ).toEqual(['1', '2']);
  });
});
