import type { SignalUpdate } from '@stepgate/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FakeClock,
  FakeLink,
  MemoryPins,
  recordingLogger,
  signer,
  tamper,
} from './__support__/fakes.js';
import { AgentSync, type SignalsOfferResult } from './agent-sync.js';
import { BundleStore } from './bundle-store.js';
import { SignalStore } from './signal-store.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
let rogue: Signer;
beforeAll(async () => {
  [key, rogue] = await Promise.all([signer(), signer()]);
});

async function setup(trust?: TrustStore) {
  const clock = new FakeClock();
  const link = new FakeLink();
  const logger = recordingLogger();
  const resolvedTrust = trust ?? (await TrustStore.trustOnFirstUse(new MemoryPins(), logger));
  const store = new BundleStore({ trust: resolvedTrust, clock });
  const signals = new SignalStore({ clock });
  const results: SignalsOfferResult[] = [];
  const sync = new AgentSync({
    link,
    store,
    trust: resolvedTrust,
    signals,
    clock,
    logger,
    onSignalsResult: (result) => results.push(result),
  });
  sync.start();
  const update = (value: number, seq: number, subject = 'alice'): SignalUpdate => ({
    subject,
    name: 'failed_logins',
    value,
    seq,
    expiresAt: clock.now() + 3_600_000,
  });
  return { clock, link, logger, signals, sync, results, update };
}

describe('AgentSync: risk signals', () => {
  it('applies a signed signals message to the signal store', async () => {
    const { link, sync, signals, results, update } = await setup(TrustStore.fromJwks(key.jwks));
    link.sendSignals(await key.signals({ snapshot: true, seq: 4, values: [update(3, 4)] }));
    link.sendSignals(await key.signals({ snapshot: false, seq: 5, values: [update(4, 5)] }));
    await sync.idle();
    expect(signals.valuesFor('alice')).toEqual({ failed_logins: 4 });
    expect(results).toEqual([
      expect.objectContaining({ status: 'applied', snapshot: true, applied: 1 }),
      expect.objectContaining({ status: 'applied', snapshot: false, applied: 1 }),
    ]);
  });

  it('refuses (logs and reports) tampered, unsigned and foreign-key messages, applying nothing', async () => {
    const { link, sync, signals, logger, results, update } = await setup(
      TrustStore.fromJwks(key.jwks),
    );
    link.sendSignals(await key.signals({ snapshot: false, seq: 1, values: [update(1, 1)] }));
    await sync.idle();

    const forged = await key.signals({ snapshot: false, seq: 9, values: [update(50, 9)] });
    link.sendSignals({ jws: tamper(forged.jws) });
    link.sendSignals(await rogue.signals({ snapshot: true, seq: 10, values: [] }));
    // Unsigned: the payload as a bare JWS-looking string.
    const payload = Buffer.from(
      JSON.stringify({ format: 'stepgate.signals/v1', snapshot: true, seq: 11, values: [] }),
    ).toString('base64url');
    link.sendSignals({ jws: `eyJhbGciOiJub25lIn0.${payload}.` });
    link.sendSignals({ jws: 'not a jws' });
    await sync.idle();

    expect(signals.valuesFor('alice')).toEqual({ failed_logins: 1 });
    expect(results.filter((r) => r.status === 'invalid')).toHaveLength(4);
    const refused = logger.lines.filter((line) => line.message === 'risk signals refused');
    expect(refused).toHaveLength(4);
    expect(refused[0]?.level).toBe('error');
  });

  it('applies a message that arrived before the keys that sign it once they are pinned', async () => {
    const { link, sync, signals, update } = await setup();
    link.sendSignals(await key.signals({ snapshot: true, seq: 2, values: [update(3, 2)] }));
    await sync.idle();
    expect(signals.valuesFor('alice')).toBeUndefined();
    link.sendKeys(key.jwks);
    await sync.idle();
    expect(signals.valuesFor('alice')).toEqual({ failed_logins: 3 });
  });

  it("takes a new connection's snapshot below the seq held as a restarted sequence", async () => {
    const { link, sync, signals, logger, update } = await setup(TrustStore.fromJwks(key.jwks));
    link.setConnected(true);
    link.sendSignals(await key.signals({ snapshot: true, seq: 900, values: [update(1, 900)] }));
    await sync.idle();
    link.setConnected(false);
    link.setConnected(true);
    link.sendSignals(await key.signals({ snapshot: true, seq: 2, values: [] }));
    link.sendSignals(await key.signals({ snapshot: false, seq: 3, values: [update(3, 3)] }));
    await sync.idle();
    expect(signals.valuesFor('alice')).toEqual({ failed_logins: 3 });
    expect(
      logger.lines.some((line) => line.message.includes('restarted its risk-signal sequence')),
    ).toBe(true);
  });

  it('ignores signals messages when the agent has no signal store', async () => {
    const link = new FakeLink();
    const trust = TrustStore.fromJwks(key.jwks);
    const sync = new AgentSync({ link, store: new BundleStore({ trust }), trust });
    sync.start();
    link.sendSignals(await key.signals({ snapshot: true, seq: 1, values: [] }));
    await sync.idle();
  });
});
