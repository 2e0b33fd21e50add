import type { CompiledPolicySet } from '@stepgate/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FakeClock,
  FakeLink,
  MemoryCache,
  MemoryLiveDataCache,
  MemoryPins,
  policySet,
  recordingLogger,
  signer,
  tamper,
} from './__support__/fakes.js';
import { AgentSync } from './agent-sync.js';
import { BundleStore } from './bundle-store.js';
import { DecisionPoint } from './decision-point.js';
import { LiveDataStore } from './live-data-store.js';
import { LogBuffer } from './log-buffer.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
let rogue: Signer;
beforeAll(async () => {
  [key, rogue] = await Promise.all([signer(), signer()]);
});

const BLOCKED_IPS_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: ips
target: { actions: ["docs:*"] }
rules:
  - name: blocked
    effect: deny
    when: context.ip in data.blocked_ips
  - name: readers
    effect: allow
    when: 'true'
`;

/** The policy set with `blocked_ips` declared as live data (default: nothing blocked). */
function liveSet(): CompiledPolicySet {
  // Compiled against a Git document of the same name, then declared live in its place (the
  // compiler's own \`liveData:\` is tested in @stepgate/policy).
  const compiled = policySet({ 'ips.yaml': BLOCKED_IPS_POLICY, 'data/blocked_ips.json': '[]' });
  const { blocked_ips: _git, ...data } = compiled.data;
  return {
    ...compiled,
    data,
    settings: {
      ...compiled.settings,
      liveData: { blocked_ips: { schema: { type: 'array' }, default: [] } },
    },
  } as CompiledPolicySet;
}

async function trusted(signing: Signer = key): Promise<TrustStore> {
  return TrustStore.fromJwks(signing.jwks);
}

const request = (ip: string) => ({
  principal: { id: 'alice', roles: [] },
  action: 'docs:read',
  resource: { kind: 'doc', id: 'a' },
  context: { ip },
});

describe('LiveDataStore', () => {
  it('applies a snapshot, then deltas that replace whole documents', async () => {
    const store = new LiveDataStore({ trust: await trusted() });
    expect(store.current).toEqual({ revision: 0, documents: {} });
    expect(await store.offer(await key.data(0, 2, { blocked_ips: ['a'], other: 1 }))).toEqual({
      status: 'applied',
      revision: 2,
      persisted: true,
    });
    await store.offer(await key.data(2, 3, { blocked_ips: ['b'] }));
    expect(store.current).toEqual({ revision: 3, documents: { blocked_ips: ['b'], other: 1 } });
    // A snapshot replaces everything: documents it does not carry are gone.
    await store.offer(await key.data(0, 5, { blocked_ips: ['c'] }));
    expect(store.current).toEqual({ revision: 5, documents: { blocked_ips: ['c'] } });
  });

  it('refuses a replay of an older revision, a gap, a tampered and a foreign message', async () => {
    const store = new LiveDataStore({ trust: await trusted() });
    await store.offer(await key.data(0, 4, { blocked_ips: ['new'] }));
    const replay = await key.data(2, 3, { blocked_ips: ['old'] });
    expect(await store.offer(replay)).toEqual({ status: 'duplicate', revision: 4 });
    expect(await store.offer(await key.data(5, 6, { blocked_ips: ['x'] }))).toEqual({
      status: 'gap',
      revision: 4,
    });
    const good = await key.data(4, 5, { blocked_ips: [] });
    const tampered = await store.offer({ ...good, jws: tamper(good.jws) });
    expect(tampered).toMatchObject({ status: 'invalid', revision: 5 });
    const foreign = await store.offer(await rogue.data(4, 5, { blocked_ips: [] }));
    expect(foreign).toMatchObject({
      status: 'invalid',
      reason: expect.stringMatching(/unknown key/),
    });
    expect(store.current).toEqual({ revision: 4, documents: { blocked_ips: ['new'] } });
  });

  it('keeps the signed messages in its cache and builds the same state from them', async () => {
    const cache = new MemoryLiveDataCache();
    const store = new LiveDataStore({ trust: await trusted(), cache });
    await store.offer(await key.data(0, 1, { blocked_ips: ['a'], allow: ['x'] }));
    await store.offer(await key.data(1, 2, { blocked_ips: ['b'] }));
    await store.offer(await key.data(2, 3, { blocked_ips: ['c'] }));
    // The message of revision 2 is replaced by 3 entirely; 1 still holds `allow`.
    expect(cache.stored?.map((message) => message.revision)).toEqual([1, 3]);
    const restarted = new LiveDataStore({ trust: await trusted(), cache });
    await restarted.loadFromCache();
    expect(restarted.current).toEqual(store.current);
    expect(restarted.current).toEqual({
      revision: 3,
      documents: { blocked_ips: ['c'], allow: ['x'] },
    });
  });

  it('starts without live data when the cache was tampered with or signed by another key', async () => {
    const cache = new MemoryLiveDataCache();
    const store = new LiveDataStore({ trust: await trusted(), cache });
    await store.offer(await key.data(0, 1, { blocked_ips: ['a'] }));
    const stored = cache.stored ?? [];
    cache.stored = stored.map((message) => ({ ...message, jws: tamper(message.jws) }));
    const logger = recordingLogger();
    const tampered = new LiveDataStore({ trust: await trusted(), cache, logger });
    await tampered.loadFromCache();
    expect(tampered.current.revision).toBe(0);
    expect(logger.lines.map((line) => line.message)).toContain(
      'the cached live data does not verify; starting without it',
    );
    cache.stored = stored;
    const otherKey = new LiveDataStore({ trust: await trusted(rogue), cache });
    await otherKey.loadFromCache();
    expect(otherKey.current.revision).toBe(0);
  });

  it('applies in memory but reports the message unpersisted when the cache write fails', async () => {
    const cache = new MemoryLiveDataCache();
    cache.failing = true;
    const store = new LiveDataStore({ trust: await trusted(), cache });
    expect(await store.offer(await key.data(0, 1, { blocked_ips: ['a'] }))).toEqual({
      status: 'applied',
      revision: 1,
      persisted: false,
    });
  });
});

describe('AgentSync with live data', () => {
  async function setup() {
    const link = new FakeLink();
    const trust = await TrustStore.trustOnFirstUse(new MemoryPins(), recordingLogger());
    const clock = new FakeClock();
    const store = new BundleStore({ trust, cache: new MemoryCache(), clock });
    const cache = new MemoryLiveDataCache();
    const liveData = new LiveDataStore({ trust, cache });
    const sync = new AgentSync({ link, store, trust, liveData, clock, logger: recordingLogger() });
    sync.start();
    return { link, liveData, cache, sync };
  }

  it('acks a message once persisted, acks a duplicate with the revision held, asks again past a gap', async () => {
    const { link, liveData, cache, sync } = await setup();
    link.sendKeys(key.jwks);
    link.sendData(await key.data(0, 3, { blocked_ips: ['a'] }));
    await sync.idle();
    expect(liveData.revision).toBe(3);
    expect(cache.stored).toHaveLength(1);
    expect(link.dataAcks).toEqual([{ revision: 3 }]);
    link.sendData(await key.data(1, 2, { blocked_ips: ['old'] }));
    link.sendData(await key.data(5, 6, { blocked_ips: ['b'] }));
    await sync.idle();
    expect(link.dataAcks).toEqual([{ revision: 3 }, { revision: 3 }]);
    expect(link.resyncs).toEqual([{ revision: 3 }]);
    cache.failing = true;
    link.sendData(await key.data(3, 4, { blocked_ips: ['c'] }));
    await sync.idle();
    expect(liveData.revision).toBe(4);
    expect(link.dataAcks).toHaveLength(2);
  });

  it('applies a message that arrived before the keys that sign it once they are pinned', async () => {
    const { link, liveData, sync } = await setup();
    link.sendData(await key.data(0, 1, { blocked_ips: ['a'] }));
    await sync.idle();
    expect(liveData.revision).toBe(0);
    link.sendKeys(key.jwks);
    await sync.idle();
    expect(liveData.revision).toBe(1);
    expect(link.dataAcks).toEqual([{ revision: 1 }]);
  });
});

describe('DecisionPoint with live data', () => {
  async function setup() {
    const trust = await trusted();
    const store = new BundleStore({ trust });
    const set = liveSet();
    await store.offer('active', await key.sign(set, 1));
    await store.offer('shadow', await key.sign(set, 2, { kind: 'shadow' }));
    const liveData = new LiveDataStore({ trust });
    const logs = new LogBuffer();
    const point = new DecisionPoint({ store, liveData, logs });
    return { point, liveData, logs };
  }

  it('decides with the live documents, active and shadow, and records their revision', async () => {
    const { point, liveData, logs } = await setup();
    expect(point.decide(request('203.0.113.7')).effect).toBe('allow');
    expect(point.status().dataRevision).toBe(0);
    await liveData.offer(await key.data(0, 7, { blocked_ips: ['203.0.113.7'] }));
    const decision = point.decide(request('203.0.113.7'));
    expect(decision.effect).toBe('deny');
    // The shadow decided with the same live data: it agrees, so it is not named.
    expect(decision.shadow).toBeUndefined();
    expect(point.decide(request('198.51.100.1')).effect).toBe('allow');
    expect(point.status().dataRevision).toBe(7);
    const records = logs.takeBatch()?.records ?? [];
    expect(records.map((record) => record.dataRevision)).toEqual([undefined, 7, 7]);
    expect(records[1]?.shadow?.effect).toBe('deny');
  });

  it('counts live data as stale with the bundle: past the maximum staleness the fail mode answers', async () => {
    const trust = await trusted();
    const clock = new FakeClock();
    const store = new BundleStore({ trust, clock });
    await store.offer('active', await key.sign(liveSet(), 1));
    const liveData = new LiveDataStore({ trust });
    await liveData.offer(await key.data(0, 3, { blocked_ips: ['203.0.113.7'] }));
    const link = new FakeLink();
    const point = new DecisionPoint({
      store,
      liveData,
      clock,
      connection: link,
      failMode: 'open',
      maxStalenessMs: 60_000,
    });
    link.setConnected(true);
    expect(point.decide(request('203.0.113.7')).effect).toBe('deny');
    // Disconnected: the live data is as old as the last moment connected, like the bundle.
    store.markSynced(clock.now());
    link.setConnected(false);
    clock.advance(30_000);
    expect(point.decide(request('203.0.113.7')).effect).toBe('deny');
    clock.advance(60_000);
    const stale = point.decide(request('203.0.113.7'));
    expect(stale).toMatchObject({ effect: 'allow', failReason: 'stale_bundle' });
    expect(point.status()).toMatchObject({ failReason: 'stale_bundle', dataRevision: 3 });
  });
});
