import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, StepgateError, toJwks } from '@stepgate/protocol';
import { MemoryPins, recordingLogger } from './__support__/fakes.js';
import { TrustStore } from './trust-store.js';

let a: Awaited<ReturnType<typeof generateSigningKey>>;
let b: Awaited<ReturnType<typeof generateSigningKey>>;

beforeAll(async () => {
  a = await generateSigningKey();
  b = await generateSigningKey();
});

describe('TrustStore with configured keys', () => {
  it('trusts exactly the configured keys and ignores the control plane', async () => {
    const trust = TrustStore.fromJwks(toJwks([a.publicJwk]));
    expect(trust.mode).toBe('configured');
    expect(trust.kids).toEqual([a.kid]);
    const result = await trust.acceptServerKeys(toJwks([b.publicJwk]));
    expect(result.status).toBe('ignored');
    expect(trust.kids).toEqual([a.kid]);
  });

  it('refuses what is not a JWKS of Ed25519 public keys', () => {
    expect(() => TrustStore.fromJwks({ nope: true })).toThrow(StepgateError);
    expect(() => TrustStore.fromJwks({ keys: [] })).toThrow(/empty/);
    expect(() => TrustStore.fromJwks({ keys: [a.privateJwk] })).toThrow(/public keys only/);
    expect(() =>
      TrustStore.fromJwks({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] }),
    ).toThrow(/Ed25519/);
  });
});

describe('TrustStore trust on first use', () => {
  it('pins the first keys it receives, persists them and warns', async () => {
    const pins = new MemoryPins();
    const logger = recordingLogger();
    const trust = await TrustStore.trustOnFirstUse(pins, logger);
    expect(trust.kids).toEqual([]);
    const result = await trust.acceptServerKeys(toJwks([a.publicJwk]));
    expect(result).toMatchObject({ status: 'pinned', added: [a.kid] });
    expect(trust.kids).toEqual([a.kid]);
    expect(pins.stored).toEqual(toJwks([a.publicJwk]));
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('trust on first use'),
      }),
    );
  });

  it('adds new keys but never removes or replaces a pinned one', async () => {
    const pins = new MemoryPins(toJwks([a.publicJwk]));
    const trust = await TrustStore.trustOnFirstUse(pins, recordingLogger());
    // A rotation: the server now publishes only b. a stays pinned.
    expect(await trust.acceptServerKeys(toJwks([b.publicJwk]))).toMatchObject({
      status: 'pinned',
      added: [b.kid],
    });
    expect(trust.kids).toEqual([a.kid, b.kid]);
    // The same kid with a different key is refused.
    const impostor = { ...b.publicJwk, kid: a.kid };
    const result = await trust.acceptServerKeys({ keys: [impostor] });
    expect(result).toMatchObject({ status: 'unchanged', conflicts: [a.kid] });
    expect(trust.jwks.keys.find((k) => k.kid === a.kid)?.x).toBe(a.publicJwk.x);
    // Nothing new: nothing written.
    const saves = pins.saves;
    expect((await trust.acceptServerKeys(toJwks([a.publicJwk, b.publicJwk]))).status).toBe(
      'unchanged',
    );
    expect(pins.saves).toBe(saves);
  });

  it('counts entries that are not keys and keeps the valid ones', async () => {
    const trust = await TrustStore.trustOnFirstUse(new MemoryPins(), recordingLogger());
    const result = await trust.acceptServerKeys({
      keys: [a.publicJwk, { kty: 'oct', k: 'x' }, 42],
    });
    expect(result).toMatchObject({ status: 'pinned', added: [a.kid], invalid: 2 });
    expect((await trust.acceptServerKeys('garbage')).invalid).toBe(1);
  });

  it('starts over, loudly, when the pin file is unreadable', async () => {
    const logger = recordingLogger();
    const trust = await TrustStore.trustOnFirstUse(new MemoryPins({ keys: 'x' }), logger);
    expect(trust.kids).toEqual([]);
    expect(logger.lines[0]?.level).toBe('error');
  });

  it('keeps a key it could not persist for this run, and reports it', async () => {
    const pins = new MemoryPins();
    pins.save = async () => {
      throw new Error('read-only file system');
    };
    const logger = recordingLogger();
    const trust = await TrustStore.trustOnFirstUse(pins, logger);
    expect((await trust.acceptServerKeys(toJwks([a.publicJwk]))).status).toBe('pinned');
    expect(trust.kids).toEqual([a.kid]);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'could not persist the pinned bundle-signing keys',
      }),
    );
  });
});
