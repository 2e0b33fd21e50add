import { generateKeyPairSync } from 'node:crypto';

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';

import { bundleHashOf, signBundle, verifyBundle } from './bundle.js';
import type { BundlePayload } from './bundle.js';
import { generateSigningKey, importSigningKey, toJwks } from './keys.js';

async function payload(): Promise<BundlePayload> {
  const policySet = { policies: [] };
  return {
    format: 'stepgate.bundle/v1',
    kind: 'shadow',
    revision: 1,
    version: {
      id: 'v1',
      number: 1,
      sha: '0123456789abcdef0123456789abcdef01234567',
      branch: 'main',
      committedAt: '2026-11-23T09:00:00Z',
    },
    rollback: false,
    issuedAt: '2026-11-23T10:00:00Z',
    bundleHash: await bundleHashOf(policySet),
    policySet,
  };
}

function pkcs8Pem(type: 'ed25519' | 'ec' | 'rsa' | 'ed448'): string {
  const options =
    type === 'ec' ? { namedCurve: 'P-256' } : type === 'rsa' ? { modulusLength: 2048 } : {};
  const { privateKey } = generateKeyPairSync(type as 'ed25519', options);
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('generateSigningKey', () => {
  it('makes an Ed25519 key named by its RFC 7638 thumbprint', async () => {
    const key = await generateSigningKey();
    expect(key.publicJwk).toStrictEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.stringMatching(/^[\w-]{43}$/),
      kid: key.kid,
    });
    expect(key.privateJwk).toMatchObject({ ...key.publicJwk, d: expect.any(String) });
    expect(key.kid).toBe(
      await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x }, 'sha256'),
    );
    expect((await generateSigningKey()).kid).not.toBe(key.kid);
  });

  it('produces keys whose JWKS verifies what they sign', async () => {
    const key = await generateSigningKey();
    const imported = await importSigningKey(key.privateJwk);
    expect(imported.kid).toBe(key.kid);
    expect(imported.publicJwk).toStrictEqual(key.publicJwk);
    const jws = await signBundle(await payload(), imported);
    expect((await verifyBundle(jws, toJwks([key.publicJwk]))).revision).toBe(1);
  });
});

describe('importSigningKey', () => {
  it('accepts a private JWK as JSON text and ignores its stated kid', async () => {
    const key = await generateSigningKey();
    const text = JSON.stringify({ ...key.privateJwk, kid: 'my-name' }, null, 2);
    const imported = await importSigningKey(`\n${text}\n`);
    expect(imported.kid).toBe(key.kid);
    expect(imported.privateKey.extractable).toBe(false);
  });

  it('accepts a PKCS#8 PEM and derives its public JWK', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const publicX = publicKey.export({ format: 'jwk' }).x;

    const imported = await importSigningKey(pem);
    expect(imported.publicJwk.x).toBe(publicX);
    expect(imported.kid).toBe(
      await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicX }, 'sha256'),
    );
    expect(imported.publicJwk).not.toHaveProperty('d');

    const jws = await signBundle(await payload(), imported);
    expect((await verifyBundle(jws, toJwks([imported.publicJwk]))).kind).toBe('shadow');
    // The agent can also verify with the Node public key itself.
    expect((await verifyBundle(jws, () => publicKey)).kind).toBe('shadow');
  });

  it('refuses a P-256 key, as PEM or JWK, saying why', async () => {
    await expect(importSigningKey(pkcs8Pem('ec'))).rejects.toMatchObject({
      code: 'key/invalid',
      message: expect.stringMatching(/EC P-256.*must be Ed25519/),
    });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await expect(importSigningKey(await exportJWK(privateKey))).rejects.toMatchObject({
      code: 'key/invalid',
      message: expect.stringMatching(/EC\/P-256.*must be Ed25519/),
    });
  });

  it('refuses other key types and PEM flavours', async () => {
    await expect(importSigningKey(pkcs8Pem('rsa'))).rejects.toThrow(/RSA.*must be Ed25519/);
    await expect(importSigningKey(pkcs8Pem('ed448'))).rejects.toThrow(/Ed448/);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    await expect(importSigningKey(sec1)).rejects.toThrow(/EC \(SEC1\)/);
    const spki = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    await expect(importSigningKey(spki)).rejects.toThrow(/public key/);
    await expect(importSigningKey('-----BEGIN PRIVATE KEY-----\n@@@\n')).rejects.toThrow(
      /base64|unrecognised/,
    );
    await expect(importSigningKey('ssh-ed25519 AAAA')).rejects.toThrow(/expected a private JWK/);
  });

  it('refuses public JWKs, JWKS documents and mismatched halves', async () => {
    const one = await generateSigningKey();
    const two = await generateSigningKey();
    await expect(importSigningKey(one.publicJwk)).rejects.toThrow(/no "d"/);
    await expect(importSigningKey(JSON.stringify(toJwks([one.publicJwk])))).rejects.toThrow(/JWKS/);
    await expect(importSigningKey({ ...one.privateJwk, x: two.publicJwk.x })).rejects.toThrow(
      /cannot be imported \(is "d" the private half of "x"\?\)/,
    );
    await expect(importSigningKey('{not json')).rejects.toMatchObject({ code: 'key/invalid' });
  });
});

describe('toJwks', () => {
  it('publishes public members with use, alg and kid', async () => {
    const key = await generateSigningKey();
    expect(toJwks([key.privateJwk])).toStrictEqual({
      keys: [{ ...key.publicJwk, use: 'sig', alg: 'EdDSA' }],
    });
  });

  it('lists a repeated key once and keeps rotation order', async () => {
    const one = await generateSigningKey();
    const two = await generateSigningKey();
    const jwks = toJwks([one.publicJwk, two.publicJwk, one.publicJwk]);
    expect(jwks.keys.map((jwk) => jwk.kid)).toEqual([one.kid, two.kid]);
  });

  it('refuses keys it cannot publish', async () => {
    const one = await generateSigningKey();
    const two = await generateSigningKey();
    expect(() => toJwks([{ ...one.publicJwk, kid: '' }])).toThrow(/without kid/);
    expect(() => toJwks([{ kty: 'EC', crv: 'P-256', x: 'AA', kid: 'ec' }])).toThrow(/Ed25519/);
    expect(() => toJwks([one.publicJwk, { ...two.publicJwk, kid: one.kid }])).toThrow(
      /two different keys/,
    );
  });
});
