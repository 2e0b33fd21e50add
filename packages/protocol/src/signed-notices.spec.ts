import { beforeAll, describe, expect, it } from 'vitest';

import { signShadowCleared, verifyShadowCleared } from './agent-protocol.js';
import { signGrant, signGrantsMessage, verifyGrantRemovals, type GrantClaims } from './grants.js';
import { generateSigningKey, importSigningKey, toJwks } from './keys.js';
import type { BundleJwks } from './keys.js';

interface Key {
  jwks: BundleJwks;
  signing: { kid: string; privateKey: CryptoKey };
}

async function key(): Promise<Key> {
  const generated = await generateSigningKey();
  const imported = await importSigningKey(generated.privateJwk);
  return {
    jwks: toJwks([generated.publicJwk]),
    signing: { kid: imported.kid, privateKey: imported.privateKey },
  };
}

let real: Key;
let rogue: Key;
beforeAll(async () => {
  [real, rogue] = await Promise.all([key(), key()]);
});

const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

function claims(id: string): GrantClaims {
  return {
    format: 'stepgate.grant/v1',
    id,
    subject: 'alice',
    kind: 'elevation',
    amr: ['otp'],
    authTime: '2026-12-01T10:00:00Z',
    approvals: [],
    actions: ['**'],
    resources: ['**'],
    issuedAt: '2026-12-01T10:00:00Z',
    expiresAt: '2026-12-01T11:00:00Z',
  };
}

describe('signed shadow clears', () => {
  it('verifies a clear signed by a trusted key', async () => {
    const message = await signShadowCleared(7, real.signing);
    expect(await verifyShadowCleared(message, real.jwks)).toBe(7);
  });

  it('refuses an unsigned, a forged and a relabelled clear', async () => {
    await expect(verifyShadowCleared({ revision: 7, jws: 'x' }, real.jwks)).rejects.toThrow(
      /shadow clear refused: not a JWS/,
    );
    const forged = await signShadowCleared(7, rogue.signing);
    await expect(verifyShadowCleared(forged, real.jwks)).rejects.toThrow(/unknown key/);
    const signed = await signShadowCleared(7, real.signing);
    await expect(
      verifyShadowCleared({ revision: 2_000_000_000, jws: signed.jws }, real.jwks),
    ).rejects.toThrow(/announced as revision 2000000000, signed as 7/);
  });
});

describe('signed grant removals', () => {
  it('leaves a message that only adds grants unsigned', async () => {
    const grant = await signGrant(claims(ID(1)), real.signing);
    const message = await signGrantsMessage(
      { full: false, grants: [grant], revoked: [] },
      real.signing,
    );
    expect(message).toEqual({ full: false, grants: [grant], revoked: [] });
    expect(await verifyGrantRemovals(message, real.jwks)).toEqual({ revoked: [] });
  });

  it('signs revocations and full sets, with the ids in force and when they were read', async () => {
    const revocation = await signGrantsMessage(
      { full: false, grants: [], revoked: [ID(2)] },
      real.signing,
    );
    expect(await verifyGrantRemovals(revocation, real.jwks)).toEqual({ revoked: [ID(2)] });

    const grant = await signGrant(claims(ID(1)), real.signing);
    const full = await signGrantsMessage(
      { full: true, grants: [grant], revoked: [] },
      real.signing,
      new Date('2026-12-01T10:30:00Z'),
    );
    const removals = await verifyGrantRemovals(full, real.jwks);
    expect([...(removals.current?.ids ?? [])]).toEqual([ID(1)]);
    expect(removals.current?.asOfMs).toBe(Date.parse('2026-12-01T10:30:00Z'));
  });

  it('refuses unsigned, forged and altered removals', async () => {
    await expect(
      verifyGrantRemovals({ full: false, grants: [], revoked: [ID(1)] }, real.jwks),
    ).rejects.toThrow(/unsigned revocation/);
    await expect(
      verifyGrantRemovals({ full: true, grants: [], revoked: [] }, real.jwks),
    ).rejects.toThrow(/unsigned full set/);
    const forged = await signGrantsMessage(
      { full: false, grants: [], revoked: [ID(1)] },
      rogue.signing,
    );
    await expect(verifyGrantRemovals(forged, real.jwks)).rejects.toThrow(/unknown key/);
    const signed = await signGrantsMessage(
      { full: false, grants: [], revoked: [ID(1)] },
      real.signing,
    );
    await expect(
      verifyGrantRemovals({ ...signed, revoked: [ID(1), ID(2)] }, real.jwks),
    ).rejects.toThrow(/differ from the signed statement/);
    await expect(verifyGrantRemovals({ ...signed, full: true }, real.jwks)).rejects.toThrow(
      /full set without a signed list/,
    );
  });
});
