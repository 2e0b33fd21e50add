import { beforeAll, describe, expect, it } from 'vitest';
import {
  DOCS_POLICY,
  FakeClock,
  FakeLink,
  MemoryCache,
  MemoryPins,
  policySet,
  recordingLogger,
  signer,
  tamper,
} from './__support__/fakes.js';
import { AgentSync } from './agent-sync.js';
import { BundleStore } from './bundle-store.js';
import { GrantStore } from './evidence/grant-store.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
beforeAll(async () => {
  key = await signer();
});

const SET = policySet({ 'docs.yaml': DOCS_POLICY });

async function setup(trust?: TrustStore) {
  const clock = new FakeClock();
  const link = new FakeLink();
  const pins = new MemoryPins();
  const resolvedTrust = trust ?? (await TrustStore.trustOnFirstUse(pins, recordingLogger()));
  const cache = new MemoryCache();
  const store = new BundleStore({ trust: resolvedTrust, cache, clock });
  const grants = new GrantStore({ trust: resolvedTrust, clock });
  const sync = new AgentSync({
    link,
    store,
    trust: resolvedTrust,
    grants,
    clock,
    logger: recordingLogger(),
  });
  sync.start();
  return { clock, link, pins, store, sync, cache, grants };
}

describe('AgentSync', () => {
  it('hands grants to the grant store, verified with keys pinned just before', async () => {
    const { link, sync, grants } = await setup();
    const jws = await key.grant({ id: '00000000-0000-4000-8000-000000000001' });
    link.sendGrants({ full: true, grants: [jws], revoked: [] });
    await sync.idle();
    expect(grants.size).toBe(0); // no keys pinned yet: refused
    link.sendKeys(key.jwks);
    link.sendGrants({ full: true, grants: [jws], revoked: [] });
    await sync.idle();
    expect(grants.ids()).toEqual(['00000000-0000-4000-8000-000000000001']);
  });

  it('pins keys sent before a bundle, then applies and acks the bundle', async () => {
    const { link, store, sync, pins, cache } = await setup();
    link.setConnected(true);
    link.sendKeys(key.jwks);
    link.sendBundle({ kind: 'active', revision: 2, jws: await key.sign(SET, 2) });
    await sync.idle();
    expect(store.active?.revision).toBe(2);
    expect(link.acks).toEqual([
      { kind: 'active', revision: 2, appliedAt: '2026-11-23T10:00:00.000Z' },
    ]);
    expect(pins.stored).toEqual(key.jwks);
    expect(cache.files.has('active')).toBe(true);
  });

  it('applies a bundle that arrived before the keys that sign it once they are pinned', async () => {
    const { link, store, sync } = await setup();
    link.sendBundle({ kind: 'active', revision: 2, jws: await key.sign(SET, 2) });
    await sync.idle();
    expect(link.rejections).toHaveLength(1);
    link.sendKeys(key.jwks);
    await sync.idle();
    expect(store.active?.revision).toBe(2);
    expect(link.acks.map((a) => a.revision)).toEqual([2]);
  });

  it('reports refused bundles and keeps enforcing the one it holds', async () => {
    const { link, store, sync } = await setup(TrustStore.fromJwks(key.jwks));
    link.sendBundle({ kind: 'active', revision: 3, jws: await key.sign(SET, 3) });
    link.sendBundle({ kind: 'active', revision: 4, jws: tamper(await key.sign(SET, 4)) });
    link.sendBundle({ kind: 'active', revision: 2, jws: await key.sign(SET, 2) });
    await sync.idle();
    expect(store.active?.revision).toBe(3);
    expect(link.acks.map((a) => a.revision)).toEqual([3]);
    expect(link.rejections).toEqual([
      { kind: 'active', revision: 4, reason: expect.stringContaining('signature does not verify') },
      {
        kind: 'active',
        revision: 2,
        reason: expect.stringContaining('older than the held revision 3'),
      },
    ]);
  });

  it('acks a revision it already holds instead of reporting it', async () => {
    const { link, sync } = await setup(TrustStore.fromJwks(key.jwks));
    const jws = await key.sign(SET, 5);
    link.sendBundle({ kind: 'active', revision: 5, jws });
    link.sendBundle({ kind: 'active', revision: 5, jws });
    await sync.idle();
    expect(link.acks.map((a) => a.revision)).toEqual([5, 5]);
    expect(link.rejections).toEqual([]);
  });

  it('refuses a key only offered, and says so when a bundle signed by it arrives', async () => {
    const other = await signer();
    const { link, store, sync } = await setup(TrustStore.fromJwks(key.jwks));
    link.sendKeys(other.jwks);
    link.sendBundle({ kind: 'active', revision: 1, jws: await other.sign(SET, 1) });
    await sync.idle();
    expect(store.active).toBeUndefined();
    expect(link.rejections[0]?.reason).toMatch(
      new RegExp(`signed by key ${other.kid}, which the control plane offered with no endorsement`),
    );
  });

  it('follows a rotation: the endorsed key is trusted, its bundle applies, the result is told', async () => {
    const next = await signer();
    const results: unknown[] = [];
    const link = new FakeLink();
    const trust = TrustStore.fromJwks(key.jwks);
    const store = new BundleStore({ trust, clock: new FakeClock() });
    const sync = new AgentSync({ link, store, trust, onKeysResult: (r) => results.push(r) });
    sync.start();
    // The bundle first (a replica already signing with the new key), then the endorsed key set.
    link.sendBundle({ kind: 'active', revision: 2, jws: await next.sign(SET, 2) });
    link.sendKeys({
      keys: [...key.jwks.keys, ...next.jwks.keys],
      endorsements: [await key.endorse([key.publicJwk, next.publicJwk])],
    });
    await sync.idle();
    expect(store.active?.revision).toBe(2);
    expect(results).toEqual([expect.objectContaining({ status: 'pinned', added: [next.kid] })]);
  });

  it('clears the shadow on a signed clear only', async () => {
    const rogue = await signer();
    const logger = recordingLogger();
    const link = new FakeLink();
    const trust = TrustStore.fromJwks(key.jwks);
    const store = new BundleStore({ trust, clock: new FakeClock() });
    const sync = new AgentSync({ link, store, trust, logger });
    sync.start();
    link.sendBundle({
      kind: 'shadow',
      revision: 2,
      jws: await key.sign(SET, 2, { kind: 'shadow' }),
    });
    link.sendShadowCleared(await rogue.cleared(3));
    link.sendShadowCleared({ revision: 3, jws: (await key.cleared(2_000_000_000)).jws });
    await sync.idle();
    expect(store.shadow?.revision).toBe(2);
    expect(logger.lines.filter((line) => line.message === 'shadow clear refused')).toHaveLength(2);

    link.sendShadowCleared(await key.cleared(3));
    await sync.idle();
    expect(store.shadow).toBeUndefined();
    expect(link.acks).toEqual([expect.objectContaining({ kind: 'shadow', revision: 2 })]);
  });

  it('marks the bundle current when the connection goes up or down', async () => {
    const { link, store, clock, cache } = await setup();
    link.setConnected(true);
    expect(store.syncedAt).toBe(clock.now());
    clock.advance(5000);
    link.setConnected(false);
    expect(store.syncedAt).toBe(clock.now());
    await new Promise((r) => setImmediate(r));
    expect(cache.syncedAt).toBe(clock.now());
  });
});
