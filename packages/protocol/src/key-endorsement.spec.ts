import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { BUNDLE_JWS_TYPE } from './bundle.js';
import { canonicalJson } from './canonical.js';
import { endorseKeys, extendTrust, KEYS_FORMAT, verifyEndorsement } from './key-endorsement.js';
import { generateSigningKey, importSigningKey, toJwks } from './keys.js';

type Key = Awaited<ReturnType<typeof generateSigningKey>> & {
  signing: { kid: string; privateKey: CryptoKey };
};

async function key(): Promise<Key> {
  const generated = await generateSigningKey();
  const imported = await importSigningKey(generated.privateJwk);
  return { ...generated, signing: { kid: imported.kid, privateKey: imported.privateKey } };
}

let a: Key;
let b: Key;
let c: Key;
let rogue: Key;
beforeAll(async () => {
  [a, b, c, rogue] = await Promise.all([key(), key(), key(), key()]);
});

const jwks = (...keys: Key[]) => toJwks(keys.map((k) => k.publicJwk));

describe('key endorsements', () => {
  it('verifies an endorsement by a trusted key and returns the keys it vouches for', async () => {
    const endorsement = await endorseKeys(
      [a.publicJwk, b.publicJwk],
      a.signing,
      new Date('2026-12-01T00:00:00Z'),
    );
    expect(await verifyEndorsement(endorsement, jwks(a))).toEqual({
      endorsedBy: a.kid,
      keys: jwks(a, b).keys,
      issuedAt: '2026-12-01T00:00:00.000Z',
    });
  });

  it('refuses an endorsement by an untrusted key, a tampered one, and another typ', async () => {
    const byRogue = await endorseKeys([rogue.publicJwk], rogue.signing);
    await expect(verifyEndorsement(byRogue, jwks(a))).rejects.toThrow(/unknown key/);
    const endorsement = await endorseKeys([a.publicJwk, b.publicJwk], a.signing);
    const [header, , signature] = endorsement.split('.');
    const swapped = Buffer.from(
      canonicalJson({
        format: KEYS_FORMAT,
        keys: jwks(a, rogue).keys,
        issuedAt: '2026-12-01T00:00:00.000Z',
      }),
    ).toString('base64url');
    await expect(verifyEndorsement(`${header}.${swapped}.${signature}`, jwks(a))).rejects.toThrow(
      /signature does not verify/,
    );
    const asBundle = await new CompactSign(
      new TextEncoder().encode(
        canonicalJson({
          format: KEYS_FORMAT,
          keys: jwks(b).keys,
          issuedAt: '2026-12-01T00:00:00Z',
        }),
      ),
    )
      .setProtectedHeader({ alg: 'EdDSA', kid: a.kid, typ: BUNDLE_JWS_TYPE })
      .sign(a.signing.privateKey);
    await expect(verifyEndorsement(asBundle, jwks(a))).rejects.toThrow(/stepgate-keys\+jws/);
  });

  it('refuses a key listed under a kid that is not its thumbprint', async () => {
    const disguised = await new CompactSign(
      new TextEncoder().encode(
        canonicalJson({
          format: KEYS_FORMAT,
          keys: [{ ...jwks(rogue).keys[0], kid: b.kid }],
          issuedAt: '2026-12-01T00:00:00Z',
        }),
      ),
    )
      .setProtectedHeader({ alg: 'EdDSA', kid: a.kid, typ: 'stepgate-keys+jws' })
      .sign(a.signing.privateKey);
    await expect(verifyEndorsement(disguised, jwks(a))).rejects.toThrow(/thumbprint/);
  });
});

describe('extendTrust', () => {
  it('walks a chain in any order: a endorses b, b endorses c', async () => {
    const ab = await endorseKeys([a.publicJwk, b.publicJwk], a.signing);
    const bc = await endorseKeys([b.publicJwk, c.publicJwk], b.signing);
    const result = await extendTrust(jwks(a), [bc, ab]);
    expect(result.added).toEqual([b.kid, c.kid]);
    expect(result.keys.map((k) => k.kid)).toEqual([a.kid, b.kid, c.kid]);
    expect(result.used).toEqual([ab, bc]);
    expect(result).toMatchObject({ conflicts: [], failures: [], unchained: 0 });
  });

  it('adds nothing from endorsements that no trusted key reaches', async () => {
    const bc = await endorseKeys([b.publicJwk, c.publicJwk], b.signing);
    const selfSigned = await endorseKeys([rogue.publicJwk], rogue.signing);
    const result = await extendTrust(jwks(a), [bc, selfSigned, 42, 'not a jws']);
    expect(result.added).toEqual([]);
    expect(result.keys).toEqual(jwks(a).keys);
    expect(result.unchained).toBe(3);
  });

  it('reports a forged endorsement under a trusted kid and a kid conflict', async () => {
    const forged = await new CompactSign(
      new TextEncoder().encode(
        canonicalJson({
          format: KEYS_FORMAT,
          keys: jwks(rogue).keys,
          issuedAt: '2026-12-01T00:00:00Z',
        }),
      ),
    )
      .setProtectedHeader({ alg: 'EdDSA', kid: a.kid, typ: 'stepgate-keys+jws' })
      .sign(rogue.signing.privateKey);
    const result = await extendTrust(jwks(a), [forged]);
    expect(result.added).toEqual([]);
    expect(result.failures).toEqual([expect.stringMatching(/signature does not verify/)]);

    // A trusted key listed by kid under another configured name: the configured key wins.
    const configured = { keys: [{ ...jwks(b).keys[0]!, kid: c.kid }, ...jwks(a).keys] };
    const ac = await endorseKeys([a.publicJwk, c.publicJwk], a.signing);
    const conflict = await extendTrust(configured, [ac]);
    expect(conflict.conflicts).toEqual([c.kid]);
    expect(conflict.added).toEqual([]);
  });
});
