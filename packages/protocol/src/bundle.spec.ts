import {
  CompactSign,
  FlattenedSign,
  base64url,
  decodeProtectedHeader,
  generateKeyPair,
} from 'jose';
import type { CompactJWSHeaderParameters, CryptoKey, JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  BundleVerificationError,
  bundleHashOf,
  isNewerBundle,
  signBundle,
  verifyBundle,
} from './bundle.js';
import type { BundlePayload, BundleVerificationFailure } from './bundle.js';
import { canonicalJson } from './canonical.js';
import { ERROR_STATUS, StepgateError, errorBody } from './errors.js';
import { generateSigningKey, importSigningKey, toJwks } from './keys.js';
import type { ImportedSigningKey } from './keys.js';

const POLICY_SET = {
  format: 'stepgate.policy-set/v1',
  settings: { defaultEffect: 'deny', onError: 'deny' },
  policies: [{ name: 'production-deploys', rules: [{ name: 'deploy', effect: 'allow' }] }],
};

async function makePayload(overrides: Partial<BundlePayload> = {}): Promise<BundlePayload> {
  const policySet = overrides.policySet ?? POLICY_SET;
  return {
    format: 'stepgate.bundle/v1',
    kind: 'active',
    revision: 7,
    version: {
      id: 'ver_01',
      number: 3,
      sha: 'a'.repeat(40),
      branch: 'main',
      committedAt: '2026-11-23T09:00:00+01:00',
    },
    rollback: false,
    issuedAt: '2026-11-23T10:00:00.000Z',
    bundleHash: await bundleHashOf(policySet),
    policySet,
    ...overrides,
  };
}

/** Signs anything at all, bypassing signBundle's checks: what a buggy or hostile signer does. */
async function signRaw(
  header: CompactJWSHeaderParameters,
  payload: string | Uint8Array,
  key: CryptoKey | Uint8Array,
): Promise<string> {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return new CompactSign(bytes).setProtectedHeader(header).sign(key);
}

async function expectRefused(
  promise: Promise<unknown>,
  reason: BundleVerificationFailure,
  message?: RegExp,
): Promise<BundleVerificationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BundleVerificationError);
  const refusal = error as BundleVerificationError;
  expect(refusal.reason).toBe(reason);
  expect(refusal.code).toBe('bundle/invalid');
  if (message) expect(refusal.message).toMatch(message);
  return refusal;
}

function swapPayload(jws: string, payload: string): string {
  const [header, , signature] = jws.split('.');
  return `${header}.${base64url.encode(payload)}.${signature}`;
}

let signer: ImportedSigningKey;
let other: ImportedSigningKey;
let jwks: JSONWebKeySet;

beforeAll(async () => {
  signer = await importSigningKey((await generateSigningKey()).privateJwk);
  other = await importSigningKey((await generateSigningKey()).privateJwk);
  jwks = toJwks([signer.publicJwk]);
});

describe('signBundle / verifyBundle', () => {
  it('round-trips a payload', async () => {
    const payload = await makePayload();
    const jws = await signBundle(payload, signer);
    expect(await verifyBundle(jws, jwks)).toEqual(payload);
  });

  it('signs the canonical JSON of the payload with the documented header', async () => {
    const payload = await makePayload();
    const jws = await signBundle(payload, signer);
    expect(decodeProtectedHeader(jws)).toStrictEqual({
      alg: 'EdDSA',
      kid: signer.kid,
      typ: 'stepgate-bundle+jws',
    });
    const body = new TextDecoder().decode(base64url.decode(jws.split('.')[1]!));
    expect(body).toBe(canonicalJson(payload));
    // Ed25519 is deterministic and the payload canonical: same input, same bundle.
    const reordered = Object.fromEntries(Object.entries(payload).reverse()) as BundlePayload;
    expect(await signBundle(reordered, signer)).toBe(jws);
  });

  it('verifies with a resolver, and with any key of a rotated set', async () => {
    const payload = await makePayload();
    const rotated = toJwks([signer.publicJwk, other.publicJwk]);
    expect(await verifyBundle(await signBundle(payload, other), rotated)).toEqual(payload);
    expect(await verifyBundle(await signBundle(payload, signer), rotated)).toEqual(payload);

    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const resolver = (kid: string) => (kid === signer.kid ? signer.publicJwk : undefined);
    expect(await verifyBundle(await signBundle(payload, signer), resolver)).toEqual(payload);
    await expectRefused(
      verifyBundle(await signBundle(payload, signer), async () => publicKey),
      'signature',
    );
  });

  it('refuses a payload whose bytes were changed after signing', async () => {
    const jws = await signBundle(await makePayload({ revision: 7 }), signer);
    const body = new TextDecoder().decode(base64url.decode(jws.split('.')[1]!));
    const tampered = swapPayload(jws, body.replace('"revision":7', '"revision":9'));
    expect(tampered).not.toBe(jws);
    await expectRefused(verifyBundle(tampered, jwks), 'signature', /signature does not verify/);
  });

  it('refuses a bundle whose signature bytes were changed', async () => {
    const jws = await signBundle(await makePayload(), signer);
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const bytes = base64url.decode(signature);
    bytes[0] = bytes[0]! ^ 0x01;
    await expectRefused(
      verifyBundle(`${header}.${payload}.${base64url.encode(bytes)}`, jwks),
      'signature',
    );
  });

  it('refuses a tampered policy set re-signed by a key the agent does not trust', async () => {
    const policySet = { ...POLICY_SET, settings: { defaultEffect: 'allow', onError: 'allow' } };
    const forged = await signBundle(await makePayload({ policySet }), other);
    await expectRefused(verifyBundle(forged, jwks), 'unknown_kid', new RegExp(other.kid));
  });

  it('refuses a forgery that claims the trusted kid', async () => {
    const policySet = { ...POLICY_SET, settings: { defaultEffect: 'allow', onError: 'allow' } };
    const forged = await signBundle(await makePayload({ policySet }), {
      kid: signer.kid,
      privateKey: other.privateKey,
    });
    await expectRefused(verifyBundle(forged, jwks), 'signature');
  });

  it('detects a hash mismatch even when the signature is valid', async () => {
    const payload = await makePayload({ bundleHash: await bundleHashOf({ other: 'policies' }) });
    const jws = await signRaw(
      { alg: 'EdDSA', kid: signer.kid, typ: 'stepgate-bundle+jws' },
      canonicalJson(payload),
      signer.privateKey,
    );
    await expectRefused(verifyBundle(jws, jwks), 'hash', /bundleHash does not match/);
  });

  it('refuses unsigned (alg none) bundles', async () => {
    const header = base64url.encode(
      JSON.stringify({ alg: 'none', kid: signer.kid, typ: 'stepgate-bundle+jws' }),
    );
    const payload = base64url.encode(canonicalJson(await makePayload()));
    await expectRefused(verifyBundle(`${header}.${payload}.`, jwks), 'alg', /"none"/);
  });

  it('refuses HS256, even keyed with the public key bytes (key confusion)', async () => {
    const secret = base64url.decode(signer.publicJwk.x);
    const jws = await signRaw(
      { alg: 'HS256', kid: signer.kid, typ: 'stepgate-bundle+jws' },
      canonicalJson(await makePayload()),
      secret,
    );
    await expectRefused(verifyBundle(jws, jwks), 'alg', /HS256/);
  });

  it('refuses the right algorithm under another name or none at all', async () => {
    const payload = canonicalJson(await makePayload());
    const ed25519 = await signRaw(
      { alg: 'Ed25519', kid: signer.kid, typ: 'stepgate-bundle+jws' },
      payload,
      signer.privateKey,
    );
    await expectRefused(verifyBundle(ed25519, jwks), 'alg');
    const header = base64url.encode(JSON.stringify({ kid: signer.kid }));
    await expectRefused(verifyBundle(`${header}.${base64url.encode(payload)}.AA`, jwks), 'alg');
  });

  it('refuses a wrong or missing typ', async () => {
    const payload = canonicalJson(await makePayload());
    const jwt = await signRaw(
      { alg: 'EdDSA', kid: signer.kid, typ: 'JWT' },
      payload,
      signer.privateKey,
    );
    await expectRefused(verifyBundle(jwt, jwks), 'typ', /"JWT"/);
    const untyped = await signRaw({ alg: 'EdDSA', kid: signer.kid }, payload, signer.privateKey);
    await expectRefused(verifyBundle(untyped, jwks), 'typ');
  });

  it('refuses extra header members and a missing kid', async () => {
    const payload = canonicalJson(await makePayload());
    const typ = 'stepgate-bundle+jws';
    const withJku = await signRaw(
      { alg: 'EdDSA', kid: signer.kid, typ, jku: 'https://evil.example/jwks' },
      payload,
      signer.privateKey,
    );
    await expectRefused(verifyBundle(withJku, jwks), 'header', /jku/);
    // RFC 7797 unencoded payload (jose only makes it flattened; the compact form is the same parts).
    const flat = await new FlattenedSign(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ, b64: false, crit: ['b64'] })
      .sign(signer.privateKey);
    const unencoded = `${flat.protected}.${flat.payload}.${flat.signature}`;
    await expectRefused(verifyBundle(unencoded, jwks), 'header', /b64, crit/);
    const noKid = await signRaw({ alg: 'EdDSA', typ }, payload, signer.privateKey);
    await expectRefused(verifyBundle(noKid, jwks), 'header', /kid/);
  });

  it('refuses payloads that break the schema', async () => {
    const base = await makePayload();
    const header = { alg: 'EdDSA', kid: signer.kid, typ: 'stepgate-bundle+jws' } as const;
    const broken: Record<string, unknown>[] = [
      { ...base, format: 'stepgate.bundle/v2' },
      { ...base, kind: 'canary' },
      { ...base, revision: 0 },
      { ...base, revision: 1.5 },
      { ...base, rollback: 'yes' },
      { ...base, issuedAt: 'yesterday' },
      { ...base, version: { ...base.version, sha: 'A'.repeat(40) } },
      { ...base, version: { ...base.version, extra: true } },
      { ...base, unknownField: 1 },
      { ...base, policySet: [] },
      { ...base, policySet: undefined },
      { ...base, bundleHash: 'abc' },
    ];
    for (const payload of broken) {
      const jws = await signRaw(header, canonicalJson(payload), signer.privateKey);
      const error = await expectRefused(verifyBundle(jws, jwks), 'schema');
      expect(error.details).toMatchObject({ reason: 'schema', issues: expect.any(Array) });
    }
  });

  it('refuses a signed payload that is not JSON', async () => {
    const header = { alg: 'EdDSA', kid: signer.kid, typ: 'stepgate-bundle+jws' } as const;
    const notJson = await signRaw(header, 'revision=9', signer.privateKey);
    await expectRefused(verifyBundle(notJson, jwks), 'payload');
    const notUtf8 = await signRaw(header, new Uint8Array([0x7b, 0xff, 0x7d]), signer.privateKey);
    await expectRefused(verifyBundle(notUtf8, jwks), 'payload');
  });

  it('refuses a policy set nested too deeply to hash, without crashing', async () => {
    const base = await makePayload();
    const deep = '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000);
    const body = canonicalJson(base).replace(canonicalJson(POLICY_SET), deep);
    const header = { alg: 'EdDSA', kid: signer.kid, typ: 'stepgate-bundle+jws' } as const;
    const jws = await signRaw(header, body, signer.privateKey);
    await expectRefused(verifyBundle(jws, jwks), 'payload', /cannot be hashed/);
  });

  it('refuses malformed input', async () => {
    await expectRefused(verifyBundle('', jwks), 'malformed');
    await expectRefused(verifyBundle('a.b', jwks), 'malformed');
    await expectRefused(verifyBundle('!!.e30.AA', jwks), 'malformed');
    await expectRefused(verifyBundle(42 as unknown as string, jwks), 'malformed');
  });

  it('refuses trusted keys that cannot verify EdDSA', async () => {
    const jws = await signBundle(await makePayload(), signer);
    const ecKey = { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: signer.kid };
    await expectRefused(verifyBundle(jws, { keys: [ecKey] }), 'key', /not OKP\/Ed25519/);
    const encKey = { ...signer.publicJwk, use: 'enc' };
    await expectRefused(verifyBundle(jws, { keys: [encKey] }), 'key', /use enc/);
    const twice = { keys: [...jwks.keys, { ...other.publicJwk, kid: signer.kid }] };
    await expectRefused(verifyBundle(jws, twice), 'key', /2 keys/);
    await expectRefused(verifyBundle(jws, {} as JSONWebKeySet), 'key', /not a JWKS/);
  });

  it('reports refusals as bundle/invalid errors (400) that say what failed', async () => {
    const forged = await signBundle(await makePayload(), other);
    const error = await expectRefused(verifyBundle(forged, jwks), 'unknown_kid');
    expect(error).toBeInstanceOf(StepgateError);
    expect(ERROR_STATUS[error.code]).toBe(400);
    expect(errorBody(error)).toEqual({
      error: 'bundle/invalid',
      message: `bundle refused: signed by unknown key ${other.kid}`,
      details: { reason: 'unknown_kid', kid: other.kid },
    });
  });
});

describe('signBundle input checks', () => {
  it('rejects a payload that breaks the schema', async () => {
    const payload = { ...(await makePayload()), revision: -1 };
    await expect(signBundle(payload, signer)).rejects.toMatchObject({
      code: 'request/invalid',
      message: expect.stringMatching(/revision/),
    });
  });

  it('rejects a bundleHash that does not match the policy set', async () => {
    const payload = await makePayload({ bundleHash: 'f'.repeat(64) });
    await expect(signBundle(payload, signer)).rejects.toMatchObject({
      code: 'request/invalid',
      message: expect.stringMatching(/bundleHash/),
    });
  });

  it('rejects a policy set canonical JSON cannot encode', async () => {
    const payload = { ...(await makePayload()), policySet: { limit: Number.NaN } };
    await expect(signBundle(payload, signer)).rejects.toMatchObject({
      code: 'request/invalid',
      message: expect.stringMatching(/non-finite/),
    });
  });

  it('rejects a key that cannot sign Ed25519', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await expect(signBundle(await makePayload(), { kid: 'ec', privateKey })).rejects.toMatchObject({
      code: 'key/invalid',
    });
    await expect(
      signBundle(await makePayload(), { kid: '', privateKey: signer.privateKey }),
    ).rejects.toMatchObject({ code: 'key/invalid' });
  });
});

describe('isNewerBundle', () => {
  it('accepts the first bundle', () => {
    expect(isNewerBundle(undefined, { revision: 1, rollback: false })).toBe(true);
  });

  it('accepts only strictly greater revisions', () => {
    expect(isNewerBundle({ revision: 5 }, { revision: 6, rollback: false })).toBe(true);
    expect(isNewerBundle({ revision: 5 }, { revision: 5, rollback: false })).toBe(false);
    expect(isNewerBundle({ revision: 5 }, { revision: 4, rollback: false })).toBe(false);
  });

  it('does not let a rollback flag revive an old revision', () => {
    expect(isNewerBundle({ revision: 5 }, { revision: 4, rollback: true })).toBe(false);
    expect(isNewerBundle({ revision: 5 }, { revision: 5, rollback: true })).toBe(false);
    // A rollback is a new activation: greater revision, older version.
    expect(isNewerBundle({ revision: 5 }, { revision: 6, rollback: true })).toBe(true);
  });
});
