import {
  generateSigningKey,
  importSigningKey,
  toJwks,
  verifySignalsMessage,
  type BundleJwks,
  type SignalUpdate,
  type SignalsMessage,
} from '@stepgate/protocol';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SigningKeyService } from '../bundles/signing-key.service.js';
import { MetricsRegistry } from '../common/metrics.registry.js';
import { SignalEvents } from './signal.events.js';
import { SignalsPush } from './signals-push.js';
import type { SignalsService } from './signals.service.js';
import { SignalsMetrics } from './signals.metrics.js';

let jwks: BundleJwks;
let keys: SigningKeyService;

beforeAll(async () => {
  const generated = await generateSigningKey();
  const imported = await importSigningKey(generated.privateJwk);
  jwks = toJwks([generated.publicJwk]);
  keys = { current: () => imported } as unknown as SigningKeyService;
});

const value = (subject: string, seq: number, v: number): SignalUpdate => ({
  subject,
  name: 'failed_logins',
  value: v,
  expiresAt: Date.now() + 60_000,
  seq,
});

function push(snapshot: () => Promise<{ seq: number; values: SignalUpdate[] }>) {
  const events = new SignalEvents();
  const signals = { snapshot } as unknown as SignalsService;
  const metrics = new SignalsMetrics(new MetricsRegistry());
  const logger = pino({ level: 'silent' });
  return { events, metrics, push: new SignalsPush(signals, events, keys, metrics, logger) };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('SignalsPush', () => {
  it('gathers changes made close together into one signed message with the highest seq', async () => {
    const { events, push: pusher } = push(async () => ({ seq: 0, values: [] }));
    const sent: SignalsMessage[] = [];
    const stop = pusher.start((message) => sent.push(message));
    events.emitChanged([value('alice', 4, 1)]);
    events.emitChanged([value('bob', 5, 2), value('alice', 6, 2)]);
    events.emitChanged([]);
    await until(() => sent.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent).toHaveLength(1);
    const payload = await verifySignalsMessage(sent[0] as SignalsMessage, jwks);
    expect(payload).toMatchObject({ snapshot: false, seq: 6 });
    expect(payload.values.map((v) => `${v.subject}:${v.seq}`)).toEqual([
      'alice:4',
      'bob:5',
      'alice:6',
    ]);
    stop();
    events.emitChanged([value('carol', 7, 1)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent).toHaveLength(1);
  });

  it('sends a connecting agent a signed snapshot, even an empty one (it drops what it held)', async () => {
    const { push: pusher } = push(async () => ({ seq: 9, values: [value('alice', 8, 3)] }));
    const sent: SignalsMessage[] = [];
    await pusher.sendSnapshot((message) => sent.push(message), performance.now());
    const payload = await verifySignalsMessage(sent[0] as SignalsMessage, jwks);
    expect(payload).toMatchObject({ snapshot: true, seq: 9, values: [{ subject: 'alice' }] });

    const empty = push(async () => ({ seq: 0, values: [] }));
    const none: SignalsMessage[] = [];
    await empty.push.sendSnapshot((message) => none.push(message), performance.now());
    expect(await verifySignalsMessage(none[0] as SignalsMessage, jwks)).toMatchObject({
      snapshot: true,
      values: [],
    });
  });

  it('does not throw when the snapshot cannot be read (Redis down): the agent connects anyway', async () => {
    const { push: pusher } = push(() => Promise.reject(new Error('Redis is down')));
    const sent: SignalsMessage[] = [];
    await expect(
      pusher.sendSnapshot((message) => sent.push(message), performance.now()),
    ).resolves.toBeUndefined();
    expect(sent).toEqual([]);
  });
});
