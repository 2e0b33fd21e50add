import { canonicalJson, BUNDLE_JWS_TYPE } from '@stepgate/protocol';
import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, grantClaims, MemoryGrantCache, signer, tamper } from '../__support__/fakes.js';
import { TrustStore } from '../trust-store.js';
import { GrantStore } from './grant-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
let foreign: Signer;
beforeAll(async () => {
  [key, foreign] = await Promise.all([signer(), signer()]);
});

function setup(cache = new MemoryGrantCache()) {
  const clock = new FakeClock();
  const grants = new GrantStore({ trust: TrustStore.fromJwks(key.jwks), clock, cache });
  return { clock, grants, cache };
}

const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
const doc = (id: string) => ({ kind: 'doc', id });

describe('GrantStore.apply', () => {
  it('holds verified grants and hands out evidence for their subject and scope', async () => {
    const { grants } = setup();
    const jws = await key.grant({ id: ID(1), level: 'mfa' });
    expect(await grants.apply({ full: false, grants: [jws], revoked: [] })).toEqual({
      added: 1,
      removed: 0,
      refused: [],
    });
    expect(grants.evidenceFor('alice', 'docs:read', doc('secret/plan'))).toEqual([
      {
        id: ID(1),
        kind: 'elevation',
        evidence: {
          amr: ['otp'],
          level: 'mfa',
          authTime: '2026-11-23T09:58:00Z',
          approvals: [],
          grants: [ID(1)],
        },
      },
    ]);
    // Scope: another subject, action or resource gets nothing.
    expect(grants.evidenceFor('bob', 'docs:read', doc('secret/plan'))).toEqual([]);
    expect(grants.evidenceFor('alice', 'deploy', doc('secret/plan'))).toEqual([]);
    expect(grants.evidenceFor('alice', 'docs:read', doc('public/plan'))).toEqual([]);
  });

  it('refuses grants with a bad signature, a foreign key or the wrong typ', async () => {
    const { grants } = setup();
    const claims = grantClaims({ id: ID(1) });
    const wrongTyp = await new CompactSign(new TextEncoder().encode(canonicalJson(claims)))
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: BUNDLE_JWS_TYPE })
      .sign(key.signingKey.privateKey);
    const result = await grants.apply({
      full: false,
      grants: [
        tamper(await key.grant({ id: ID(2) })),
        await foreign.grant({ id: ID(3) }),
        wrongTyp,
        'garbage',
      ],
      revoked: [],
    });
    expect(result.added).toBe(0);
    expect(result.refused).toEqual([
      expect.stringMatching(/signature does not verify/),
      expect.stringMatching(/unknown key/),
      expect.stringMatching(/type "stepgate-bundle\+jws" is not stepgate-grant\+jws/),
      expect.stringMatching(/not a JWS/),
    ]);
    expect(grants.size).toBe(0);
  });

  it('ignores expired grants and prunes grants as they expire', async () => {
    const { grants, clock } = setup();
    await grants.apply({
      full: false,
      grants: [
        await key.grant({ id: ID(1), expiresAt: '2026-11-23T09:59:00Z' }),
        await key.grant({ id: ID(2), expiresAt: '2026-11-23T10:05:00Z' }),
      ],
      revoked: [],
    });
    expect(grants.ids()).toEqual([ID(2)]);
    clock.advance(6 * 60_000);
    expect(grants.evidenceFor('alice', 'docs:read', doc('secret/plan'))).toEqual([]);
    expect(grants.prune()).toBe(1);
    expect(grants.size).toBe(0);
  });

  it('replaces everything on a full message', async () => {
    const { grants } = setup();
    await grants.apply({
      full: false,
      grants: [await key.grant({ id: ID(1) }), await key.grant({ id: ID(2) })],
      revoked: [],
    });
    const result = await grants.apply(
      await key.grants({
        full: true,
        grants: [await key.grant({ id: ID(2) }), await key.grant({ id: ID(3) })],
        revoked: [],
      }),
    );
    expect(result).toMatchObject({ added: 1, removed: 1 });
    expect(grants.ids().sort()).toEqual([ID(2), ID(3)]);
  });

  it('removes nothing on an unsigned or forged revocation or full set, and says why', async () => {
    const { grants } = setup();
    await grants.apply({ full: false, grants: [await key.grant({ id: ID(1) })], revoked: [] });
    const attempts = [
      { full: false, grants: [], revoked: [ID(1)] },
      { full: true, grants: [], revoked: [] },
      await foreign.grants({ full: false, grants: [], revoked: [ID(1)] }),
      await foreign.grants({ full: true, grants: [], revoked: [] }),
      // Signed for another id, relabelled.
      { ...(await key.grants({ full: false, grants: [], revoked: [ID(2)] })), revoked: [ID(1)] },
    ];
    const reasons: (string | undefined)[] = [];
    for (const message of attempts) {
      const result = await grants.apply(message);
      expect(result.removed).toBe(0);
      reasons.push(result.removalsRefused);
    }
    expect(reasons).toEqual([
      expect.stringMatching(/unsigned revocation/),
      expect.stringMatching(/unsigned full set/),
      expect.stringMatching(/unknown key/),
      expect.stringMatching(/unknown key/),
      expect.stringMatching(/differ from the signed statement/),
    ]);
    expect(grants.ids()).toEqual([ID(1)]);
  });

  it('keeps a grant issued after a full set was read (a replayed full set removes nothing new)', async () => {
    const { grants } = setup();
    const old = await key.grant({ id: ID(1), issuedAt: '2026-11-23T09:50:00Z' });
    const newer = await key.grant({ id: ID(2), issuedAt: '2026-11-23T09:59:00Z' });
    await grants.apply({ full: false, grants: [old, newer], revoked: [] });
    const readEarlier = await key.grants(
      { full: true, grants: [], revoked: [] },
      new Date('2026-11-23T09:55:00Z'),
    );
    expect(await grants.apply(readEarlier)).toMatchObject({ removed: 1 });
    expect(grants.ids()).toEqual([ID(2)]);
  });

  it('removes revoked grants and never lets a late message resurrect them', async () => {
    const { grants } = setup();
    const jws = await key.grant({ id: ID(1) });
    await grants.apply({ full: false, grants: [jws], revoked: [] });
    expect(
      await grants.apply(await key.grants({ full: false, grants: [], revoked: [ID(1)] })),
    ).toMatchObject({ removed: 1 });
    expect(grants.evidenceFor('alice', 'docs:read', doc('secret/plan'))).toEqual([]);
    await grants.apply({ full: false, grants: [jws], revoked: [] });
    await grants.apply(await key.grants({ full: true, grants: [jws], revoked: [] }));
    expect(grants.size).toBe(0);
  });

  it('persists grants and revocations and re-verifies them on load', async () => {
    const { grants, cache } = setup();
    await grants.apply(
      await key.grants({
        full: false,
        grants: [await key.grant({ id: ID(1) }), await key.grant({ id: ID(2) })],
        revoked: [ID(3)],
      }),
    );
    expect(cache.stored?.grants).toHaveLength(2);
    expect(cache.stored?.revoked).toEqual([ID(3)]);

    // A restart: a new store over the same cache, one grant tampered with on disk.
    cache.stored = {
      grants: [cache.stored?.grants[0] as string, tamper(cache.stored?.grants[1] as string)],
      revoked: [ID(3)],
    };
    const restarted = setup(cache).grants;
    const loaded = await restarted.loadFromCache();
    expect(loaded?.added).toBe(1);
    expect(loaded?.refused).toHaveLength(1);
    expect(restarted.size).toBe(1);
    await restarted.apply({ full: false, grants: [await key.grant({ id: ID(3) })], revoked: [] });
    expect(restarted.ids()).not.toContain(ID(3));
  });
});
