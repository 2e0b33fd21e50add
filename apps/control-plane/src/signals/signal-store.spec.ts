/**
 * The aggregation scripts against the real Redis on the machine, under a prefix of their own.
 */
import { randomBytes } from 'node:crypto';
import type { SignalDeclaration } from '@stepgate/policy';
import type { SignalEvent } from '@stepgate/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { planEvents } from './signal-plan.js';
import { MAX_MEMBERS_PER_KEY, SignalStore } from './signal-store.js';

const SIGNALS: Record<string, SignalDeclaration> = {
  failed_logins: { event: 'login_failed', window: 3600, aggregate: 'count' },
  new_device: { event: 'new_device', window: 86_400, aggregate: 'exists' },
  last_country: { event: 'login', window: 3600, aggregate: 'last', field: 'country' },
  countries: { event: 'login', window: 3600, aggregate: 'distinct', field: 'country' },
  burst: { event: 'burst', window: 2, aggregate: 'count' },
};
// Key expiries are absolute (PEXPIREAT): the test's clock runs a minute ahead of Redis's, so no
// key expires under it on a slow machine.
const T0 = Math.floor(Date.now() / 1000) * 1000 + 60_000;

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false });
let prefix: string;
let store: SignalStore;

beforeEach(async () => {
  prefix = `stepgate-unit-${randomBytes(5).toString('hex')}`;
  store = new SignalStore(redis, prefix);
  // Counting from 1 keeps the expected seqs readable; a missing counter is its own case below.
  await redis.set(`${prefix}:signals:seq`, '0');
});

afterAll(async () => {
  const keys = await redis.keys('stepgate-unit-*:signals:*');
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function event(type: string, subject: string, time: number, extra: Partial<SignalEvent> = {}) {
  return { type, subject, time, data: {}, ...extra } satisfies SignalEvent;
}

const ingest = (events: SignalEvent[], now: number) =>
  store.ingest(
    planEvents(events, SIGNALS, (id) => store.dedupeKey(id)),
    now,
  );

describe('SignalStore', () => {
  it('counts events per subject, each change with a new, higher seq and expiry', async () => {
    const first = await ingest([event('login_failed', 'alice', T0)], T0);
    expect(first.changed).toEqual([
      { subject: 'alice', name: 'failed_logins', value: 1, expiresAt: T0 + 3_600_000, seq: 1 },
    ]);
    const next = await ingest(
      [event('login_failed', 'alice', T0 + 1000), event('login_failed', 'alice', T0 + 2000)],
      T0 + 2000,
    );
    // Two events for one (signal, subject) in one batch: one change.
    expect(next.changed).toEqual([
      {
        subject: 'alice',
        name: 'failed_logins',
        value: 3,
        expiresAt: T0 + 2000 + 3_600_000,
        seq: 2,
      },
    ]);
    // The index of current values lives as long as its latest value.
    expect(await redis.call('PEXPIRETIME', `${prefix}:signals:cur:alice`)).toBe(
      T0 + 2000 + 3_600_000,
    );
    expect(await store.subject('alice', SIGNALS, T0 + 3000)).toMatchObject({
      failed_logins: { value: 3, expiresAt: T0 + 2000 + 3_600_000 },
      new_device: { value: false, expiresAt: null },
      last_country: { value: null, expiresAt: null },
      countries: { value: 0, expiresAt: null },
    });
    expect((await store.subject('bob', SIGNALS, T0)).failed_logins).toEqual({
      value: 0,
      expiresAt: null,
    });
  });

  it('never issues a seq below one issued before, even when Redis lost the counter', async () => {
    const before = await ingest([event('login_failed', 'alice', T0)], T0);
    expect(before.changed[0]?.seq).toBe(1);
    // Redis restarted without persistence: the counter is gone, agents still hold seq 1 (or,
    // after a long life, a large one). The next value must still win on every agent.
    await redis.del(`${prefix}:signals:seq`);
    const startedAt = Date.now() * 1000;
    const after = await ingest([event('login_failed', 'bob', T0)], T0);
    expect(after.changed[0]?.seq).toBeGreaterThan(startedAt - 60_000_000);
    expect(Number.isSafeInteger(after.changed[0]?.seq)).toBe(true);
    const next = await ingest([event('login_failed', 'carol', T0)], T0);
    expect(next.changed[0]?.seq).toBe((after.changed[0]?.seq ?? 0) + 1);
  });

  it('counts an event id once, whichever batch repeats it', async () => {
    const a = event('login_failed', 'alice', T0, { id: 'id:evt-1' });
    const first = await ingest([a, a, event('login_failed', 'alice', T0, { id: 'id:evt-2' })], T0);
    expect(first.duplicates).toBe(1);
    const again = await ingest([a], T0 + 10);
    expect(again).toEqual({ duplicates: 1, changed: [] });
    expect((await store.subject('alice', SIGNALS, T0 + 10)).failed_logins.value).toBe(2);
  });

  it('remembers an id only while its event counts; counting stays idempotent per id even after', async () => {
    const burst = event('burst', 'bob', T0, { id: 'id:b-1' });
    await ingest([burst], T0);
    const seen = await redis.keys(`${prefix}:signals:seen:*`);
    expect(seen).toHaveLength(1);
    const ttl = await redis.pttl(seen[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    // Forgotten early (a Redis eviction, say): the same id still counts once.
    await redis.del(seen[0] as string);
    expect(await ingest([burst], T0 + 10)).toEqual({ duplicates: 0, changed: [] });
    expect((await store.subject('bob', SIGNALS, T0 + 10)).burst.value).toBe(1);
    // Out of every window it feeds: not remembered, changes nothing.
    await ingest([event('burst', 'bob', T0 - 5000, { id: 'id:old' })], T0);
    expect(await redis.exists(`${prefix}:signals:seen:${store.dedupeKey('id:old')}`)).toBe(0);
  });

  it('keeps exists, last and distinct; an older event does not replace the last value', async () => {
    await ingest(
      [
        event('new_device', 'alice', T0),
        event('login', 'alice', T0, { data: { country: 'FR' } }),
        event('login', 'alice', T0 + 1000, { data: { country: 'DE' } }),
        event('login', 'alice', T0 + 500, { data: { country: 'US' } }),
        event('login', 'alice', T0 + 600, { data: { country: 'FR' } }),
        event('login', 'alice', T0 + 700, { data: {} }),
      ],
      T0 + 1000,
    );
    expect(await store.subject('alice', SIGNALS, T0 + 1000)).toMatchObject({
      new_device: { value: true, expiresAt: T0 + 86_400_000 },
      last_country: { value: 'DE', expiresAt: T0 + 1000 + 3_600_000 },
      countries: { value: 3 },
    });
  });

  it('ignores events older than their window, and events no signal reads', async () => {
    const result = await ingest(
      [event('login_failed', 'alice', T0 - 3_600_000), event('unknown', 'alice', T0)],
      T0,
    );
    expect(result.changed).toEqual([]);
    expect((await store.subject('alice', SIGNALS, T0)).failed_logins.value).toBe(0);
  });

  it('sweeps values down as events leave the window, back to zero, each claimed once', async () => {
    await ingest([event('burst', 'alice', T0), event('burst', 'alice', T0 + 1000)], T0 + 1000);
    expect((await store.sweep(SIGNALS, T0 + 1500)).changed).toEqual([]);
    // Two sweepers at once (two replicas): one takes the due entry.
    const [a, b] = await Promise.all([
      store.sweep(SIGNALS, T0 + 2000),
      new SignalStore(redis, prefix).sweep(SIGNALS, T0 + 2000),
    ]);
    const changed = [...a.changed, ...b.changed];
    expect(changed).toEqual([
      { subject: 'alice', name: 'burst', value: 1, expiresAt: T0 + 3000, seq: 2 },
    ]);
    const gone = await store.sweep(SIGNALS, T0 + 3000);
    expect(gone.changed).toEqual([
      { subject: 'alice', name: 'burst', value: 0, expiresAt: T0 + 3000, seq: 3 },
    ]);
    expect((await store.sweep(SIGNALS, T0 + 10_000)).claimed).toBe(0);
    expect((await store.snapshot(SIGNALS, T0 + 3000)).values).toEqual([]);
  });

  it('two sweepers claiming in small batches recompute each due value exactly once', async () => {
    const subjects = Array.from({ length: 60 }, (_, i) => `s${i}`);
    await ingest(
      subjects.map((subject) => event('burst', subject, T0)),
      T0,
    );
    const other = new SignalStore(redis, prefix);
    const changed: string[] = [];
    const sweeper = async (which: SignalStore) => {
      for (;;) {
        const { claimed, changed: values } = await which.sweep(SIGNALS, T0 + 2000, 7);
        changed.push(...values.map((v) => `${v.subject}=${String(v.value)}`));
        if (claimed === 0) return;
      }
    };
    await Promise.all([sweeper(store), sweeper(other), sweeper(store)]);
    expect(changed.sort()).toEqual(subjects.map((subject) => `${subject}=0`).sort());
  });

  it('snapshots current values with the seq issued before the read', async () => {
    await ingest(
      [
        event('login_failed', 'alice', T0),
        event('new_device', 'bob', T0),
        event('burst', 'carol', T0),
      ],
      T0,
    );
    const snapshot = await store.snapshot(SIGNALS, T0 + 2500);
    expect(snapshot.seq).toBe(3);
    expect(snapshot.values.map((v) => `${v.subject}/${v.name}=${String(v.value)}`).sort()).toEqual([
      'alice/failed_logins=1',
      'bob/new_device=true',
    ]);
    // Only what the active version declares.
    const { burst: _burst, failed_logins: _failed, ...rest } = SIGNALS;
    expect((await store.snapshot(rest, T0)).values.map((v) => v.name)).toEqual(['new_device']);
  });

  it('caps the events kept per subject: the count saturates', async () => {
    const events = Array.from({ length: MAX_MEMBERS_PER_KEY + 5 }, (_, i) =>
      event('login_failed', 'mallory', T0 + i),
    );
    for (let i = 0; i < events.length; i += 1000)
      await ingest(events.slice(i, i + 1000), T0 + 20_000);
    const key = `${prefix}:signals:v:failed_logins:mallory`;
    expect(await redis.zcard(key)).toBe(MAX_MEMBERS_PER_KEY);
    expect((await store.subject('mallory', SIGNALS, T0 + 20_000)).failed_logins.value).toBe(
      MAX_MEMBERS_PER_KEY,
    );
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('rate-limits per token within one window, whole requests only', async () => {
    expect(await store.rateLimit('t1', 6, 10)).toBe(0);
    const retry = await store.rateLimit('t1', 5, 10);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(1000);
    expect(await store.rateLimit('t1', 4, 10)).toBe(0);
    expect(await store.rateLimit('t2', 10, 10)).toBe(0);
  });
});
