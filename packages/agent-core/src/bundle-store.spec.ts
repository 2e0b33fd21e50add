import { beforeAll, describe, expect, it } from 'vitest';
import {
  DOCS_POLICY,
  FakeClock,
  MemoryCache,
  policySet,
  recordingLogger,
  signer,
  tamper,
} from './__support__/fakes.js';
import { BundleStore } from './bundle-store.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;

const SET = policySet({ 'docs.yaml': DOCS_POLICY });
const reader = {
  principal: { id: 'rita', roles: ['reader'] },
  action: 'docs:read',
  resource: { kind: 'doc', id: 'guide' },
};

let key: Signer;
let other: Signer;

beforeAll(async () => {
  key = await signer();
  other = await signer();
});

function store(cache = new MemoryCache(), clock = new FakeClock()) {
  const logger = recordingLogger();
  return {
    store: new BundleStore({ trust: TrustStore.fromJwks(key.jwks), cache, clock, logger }),
    cache,
    clock,
    logger,
  };
}

describe('BundleStore.offer', () => {
  it('verifies, builds the engine and swaps the bundle in', async () => {
    const { store: s, cache, clock } = store();
    const result = await s.offer('active', await key.sign(SET, 3), { source: 'control-plane' });
    expect(result).toEqual({ applied: true, kind: 'active', revision: 3, rollback: false });
    expect(s.active?.revision).toBe(3);
    expect(s.active?.engine.decide(reader).effect).toBe('allow');
    expect(s.active?.issuedAt).toBe(Date.parse('2026-11-23T09:30:00Z'));
    expect(s.active?.loadedAt).toBe(clock.now());
    expect(s.syncedAt).toBe(clock.now());
    expect(cache.files.get('active')).toBeDefined();
    expect(s.revisions()).toEqual({ active: 3 });
  });

  it("holds the policy set's declared entities, and empty lists for a set without", async () => {
    const entities = `apiVersion: stepgate/v1
kind: Entities
name: people
subjects:
  - { type: user, id: rita, properties: { roles: [reader] } }
actions: ["docs:read"]
`;
    const { store: s } = store();
    await s.offer('active', await key.sign(SET, 1));
    expect(s.active?.entities).toEqual({ subjects: [], resources: [], actions: [] });
    const withEntities = policySet({ 'docs.yaml': DOCS_POLICY, 'people.yaml': entities });
    await s.offer('active', await key.sign(withEntities, 2));
    expect(s.active?.entities).toEqual({
      subjects: [{ type: 'user', id: 'rita', properties: { roles: ['reader'] } }],
      resources: [],
      actions: ['docs:read'],
    });
  });

  it('refuses an unsigned bundle', async () => {
    const { store: s } = store();
    const signed = await key.sign(SET, 1);
    const [, payload] = signed.split('.');
    const header = btoa(JSON.stringify({ alg: 'none', typ: 'stepgate-bundle+jws', kid: key.kid }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    const result = await s.offer('active', `${header}.${payload}.`);
    expect(result).toMatchObject({ applied: false, code: 'invalid' });
    expect(result.applied === false && result.reason).toMatch(/algorithm "none" is not allowed/);
    expect(s.active).toBeUndefined();
  });

  it('refuses a tampered bundle and keeps the one it holds', async () => {
    const { store: s } = store();
    await s.offer('active', await key.sign(SET, 1));
    const result = await s.offer('active', tamper(await key.sign(SET, 2)), { expectedRevision: 2 });
    expect(result).toMatchObject({ applied: false, code: 'invalid', revision: 2 });
    expect(s.active?.revision).toBe(1);
  });

  it('refuses a bundle signed by a key it does not trust', async () => {
    const { store: s } = store();
    const result = await s.offer('active', await other.sign(SET, 1));
    expect(result).toMatchObject({ applied: false, code: 'invalid' });
    expect(result.applied === false && result.reason).toMatch(/unknown key/);
  });

  it('refuses older and equal revisions, per kind', async () => {
    const { store: s } = store();
    await s.offer('active', await key.sign(SET, 5));
    expect(await s.offer('active', await key.sign(SET, 4))).toMatchObject({
      applied: false,
      code: 'not_newer',
    });
    expect(await s.offer('active', await key.sign(SET, 5))).toMatchObject({
      applied: false,
      code: 'duplicate',
    });
    // The shadow kind has its own history: an older revision than the active one is fine.
    expect(await s.offer('shadow', await key.sign(SET, 2, { kind: 'shadow' }))).toMatchObject({
      applied: true,
      revision: 2,
    });
    expect(s.active?.revision).toBe(5);
  });

  it('takes a signed rollback only with a newer revision', async () => {
    const { store: s } = store();
    await s.offer('active', await key.sign(SET, 5));
    expect(await s.offer('active', await key.sign(SET, 4, { rollback: true }))).toMatchObject({
      applied: false,
      code: 'not_newer',
    });
    expect(await s.offer('active', await key.sign(SET, 6, { rollback: true }))).toEqual({
      applied: true,
      kind: 'active',
      revision: 6,
      rollback: true,
    });
  });

  it('refuses a bundle delivered as the other kind or under another revision', async () => {
    const { store: s } = store();
    expect(await s.offer('shadow', await key.sign(SET, 1))).toMatchObject({
      applied: false,
      code: 'kind_mismatch',
    });
    expect(await s.offer('active', await key.sign(SET, 1), { expectedRevision: 9 })).toMatchObject({
      applied: false,
      code: 'revision_mismatch',
    });
    expect(s.active).toBeUndefined();
    expect(s.shadow).toBeUndefined();
  });

  it('refuses a signed bundle whose policy set cannot be loaded', async () => {
    const { store: s } = store();
    const broken = { ...SET, format: 'something-else' } as unknown as typeof SET;
    expect(await s.offer('active', await key.sign(broken, 1))).toMatchObject({
      applied: false,
      code: 'policy_set',
    });
  });

  it('never lets a slower, older offer overtake a newer one', async () => {
    const { store: s } = store();
    const [older, newer] = await Promise.all([key.sign(SET, 7), key.sign(SET, 8)]);
    const results = await Promise.all([s.offer('active', newer), s.offer('active', older)]);
    expect(results.map((r) => r.applied)).toEqual([true, false]);
    expect(s.active?.revision).toBe(8);
  });

  it('builds the engine with the agent labels (policy selectors)', async () => {
    const selected = policySet({
      'docs.yaml': DOCS_POLICY,
      'prod-only.yaml': `apiVersion: stepgate/v1
kind: Policy
name: prod-only
agents: { env: prod }
target: { actions: ["docs:*"] }
rules:
  - name: freeze
    effect: deny
`,
    });
    const jws = await key.sign(selected, 1);
    const prod = new BundleStore({ trust: TrustStore.fromJwks(key.jwks), labels: { env: 'prod' } });
    const dev = new BundleStore({ trust: TrustStore.fromJwks(key.jwks), labels: { env: 'dev' } });
    await prod.offer('active', jws);
    await dev.offer('active', jws);
    expect(prod.active?.engine.decide(reader).effect).toBe('deny');
    expect(dev.active?.engine.decide(reader).effect).toBe('allow');
  });

  it('keeps the applied bundle when the cache cannot be written', async () => {
    const cache = new MemoryCache();
    cache.failSave = true;
    const { store: s, logger } = store(cache);
    expect(
      await s.offer('active', await key.sign(SET, 1), { source: 'control-plane' }),
    ).toMatchObject({
      applied: true,
    });
    expect(s.active?.revision).toBe(1);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'could not cache the active bundle' }),
    );
  });

  it('writes only bundles from the control plane to the cache', async () => {
    const { store: s, cache } = store();
    await s.offer('active', await key.sign(SET, 1), { source: 'local' });
    expect(cache.files.size).toBe(0);
  });
});

describe('BundleStore revision step', () => {
  it('refuses a revision more than the step past the last one held, of either kind', async () => {
    const trust = TrustStore.fromJwks(key.jwks);
    const s = new BundleStore({ trust, maxRevisionStep: 100 });
    // Nothing held: the first bundle cannot be bounded.
    expect(await s.offer('active', await key.sign(SET, 500))).toMatchObject({ applied: true });
    expect(await s.offer('active', await key.sign(SET, 601))).toMatchObject({
      applied: false,
      code: 'revision_jump',
      revision: 601,
      reason: expect.stringContaining('more than 100 past the last revision held (500)'),
    });
    expect(s.active?.revision).toBe(500);
    expect(await s.offer('active', await key.sign(SET, 600))).toMatchObject({ applied: true });
    // One counter for both kinds: the shadow is bounded by the active revision too.
    expect(
      await s.offer('shadow', await key.sign(SET, 2_000_000_000, { kind: 'shadow' })),
    ).toMatchObject({ applied: false, code: 'revision_jump' });
    expect(await s.offer('shadow', await key.sign(SET, 650, { kind: 'shadow' }))).toMatchObject({
      applied: true,
    });
    // A shadow clear far ahead would refuse every later shadow: bounded as well.
    expect(await s.clearShadow(2_000_000_000)).toBe(false);
    expect(s.shadow?.revision).toBe(650);
  });

  it('defaults to a step of 100,000', async () => {
    const s = new BundleStore({ trust: TrustStore.fromJwks(key.jwks) });
    await s.offer('active', await key.sign(SET, 7));
    expect(await s.offer('active', await key.sign(SET, 100_008))).toMatchObject({
      code: 'revision_jump',
    });
    expect(await s.offer('active', await key.sign(SET, 100_007))).toMatchObject({ applied: true });
  });
});

describe('BundleStore shadow', () => {
  it('clears the shadow and refuses shadow bundles from before the clear', async () => {
    const { store: s, cache } = store();
    await s.offer('shadow', await key.sign(SET, 3, { kind: 'shadow' }), {
      source: 'control-plane',
    });
    expect(cache.files.has('shadow')).toBe(true);
    expect(await s.clearShadow(4)).toBe(true);
    expect(s.shadow).toBeUndefined();
    expect(cache.files.has('shadow')).toBe(false);
    expect(await s.offer('shadow', await key.sign(SET, 4, { kind: 'shadow' }))).toMatchObject({
      applied: false,
      code: 'not_newer',
    });
    expect(await s.offer('shadow', await key.sign(SET, 5, { kind: 'shadow' }))).toMatchObject({
      applied: true,
    });
  });

  it('ignores a clear older than the shadow it holds', async () => {
    const { store: s } = store();
    await s.offer('shadow', await key.sign(SET, 6, { kind: 'shadow' }));
    expect(await s.clearShadow(5)).toBe(false);
    expect(s.shadow?.revision).toBe(6);
  });
});

describe('BundleStore.loadFromCache', () => {
  it('loads cached bundles through verification and restores the sync time', async () => {
    const first = store();
    await first.store.offer('active', await key.sign(SET, 4), { source: 'control-plane' });
    first.clock.advance(60_000);
    first.store.markSynced(first.clock.now());
    await first.store.saveSyncedAt();

    const clock = new FakeClock(first.clock.now() + 3_600_000);
    const again = store(first.cache, clock);
    const results = await again.store.loadFromCache();
    expect(results.active).toMatchObject({ applied: true, revision: 4 });
    expect(again.store.active?.source).toBe('cache');
    expect(again.store.syncedAt).toBe(first.clock.now());
  });

  it('falls back to the issue time when no sync time was saved, and never past now', async () => {
    const cache = new MemoryCache();
    cache.files.set('active', await key.sign(SET, 1, { issuedAt: '2026-11-23T08:00:00Z' }));
    const { store: s } = store(cache);
    await s.loadFromCache();
    expect(s.syncedAt).toBe(Date.parse('2026-11-23T08:00:00Z'));

    const future = new MemoryCache();
    future.files.set('active', await key.sign(SET, 1));
    future.syncedAt = Date.parse('2030-01-01T00:00:00Z');
    const clock = new FakeClock();
    const { store: later } = store(future, clock);
    await later.loadFromCache();
    expect(later.syncedAt).toBe(clock.now());
  });

  it('refuses and reports a corrupted cache file', async () => {
    const cache = new MemoryCache();
    cache.files.set('active', tamper(await key.sign(SET, 2)));
    cache.files.set('shadow', 'not a jws at all');
    const { store: s, logger } = store(cache);
    const results = await s.loadFromCache();
    expect(results.active).toMatchObject({ applied: false, code: 'invalid' });
    expect(results.shadow).toMatchObject({ applied: false, code: 'invalid' });
    expect(s.active).toBeUndefined();
    expect(s.syncedAt).toBeUndefined();
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'cached active bundle refused',
      'cached shadow bundle refused',
    ]);
  });

  it('reports an unreadable cache', async () => {
    const cache = new MemoryCache();
    cache.load = async () => {
      throw new Error('EACCES');
    };
    const { store: s } = store(cache);
    const results = await s.loadFromCache();
    expect(results.active).toMatchObject({
      applied: false,
      reason: expect.stringContaining('EACCES'),
    });
  });
});
