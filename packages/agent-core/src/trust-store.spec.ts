import { beforeAll, describe, expect, it } from 'vitest';
import { StepgateError, toJwks } from '@stepgate/protocol';
import { MemoryPins, recordingLogger, signer } from './__support__/fakes.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let a: Signer;
let b: Signer;
let c: Signer;
let rogue: Signer;

beforeAll(async () => {
  [a, b, c, rogue] = await Promise.all([signer(), signer(), signer(), signer()]);
});

/** What the control plane sends: every public key, and the endorsements chaining them. */
const keysMessage = (keys: Signer[], endorsements: string[] = []) => ({
  ...toJwks(keys.map((k) => k.publicJwk)),
  endorsements,
});

/** The JWS with its header naming another signer (the signature no longer verifies). */
function claimSigner(jws: string, kid: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const claimed = { ...JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), kid };
  return [Buffer.from(JSON.stringify(claimed)).toString('base64url'), payload, signature].join('.');
}

describe('TrustStore with configured keys', () => {
  it('trusts the configured keys and refuses a key the control plane only lists', async () => {
    const logger = recordingLogger();
    const trust = TrustStore.fromJwks(a.jwks, logger);
    expect(trust.mode).toBe('configured');
    expect(trust.kids).toEqual([a.kid]);
    const result = await trust.acceptServerKeys(keysMessage([a, rogue]));
    expect(result).toMatchObject({ status: 'unchanged', added: [], refused: [rogue.kid] });
    expect(trust.kids).toEqual([a.kid]);
    expect(trust.wasRefused(rogue.kid)).toBe(true);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining('no endorsement from a trusted key'),
      }),
    );
  });

  it('adds a rotated key endorsed by a configured one, and walks it again on the next start', async () => {
    const pins = new MemoryPins();
    const trust = await TrustStore.configured(a.jwks, pins, recordingLogger());
    const ab = await a.endorse([a.publicJwk, b.publicJwk]);
    expect(await trust.acceptServerKeys(keysMessage([a, b], [ab]))).toMatchObject({
      status: 'pinned',
      added: [b.kid],
      refused: [],
    });
    expect(trust.kids).toEqual([a.kid, b.kid]);
    expect(pins.stored).toEqual({ ...toJwks([a.publicJwk, b.publicJwk]), endorsements: [ab] });

    const restarted = await TrustStore.configured(a.jwks, pins, recordingLogger());
    expect(restarted.kids).toEqual([a.kid, b.kid]);
    // Other configured keys: the stored endorsement no longer chains, b is not trusted.
    expect((await TrustStore.configured(c.jwks, pins, recordingLogger())).kids).toEqual([c.kid]);
  });

  it('refuses what is not a JWKS of Ed25519 public keys', () => {
    expect(() => TrustStore.fromJwks({ nope: true })).toThrow(StepgateError);
    expect(() => TrustStore.fromJwks({ keys: [] })).toThrow(/empty/);
    expect(() => TrustStore.fromJwks({ keys: [a.publicJwk, { d: 'x' }] })).toThrow(
      /public keys only/,
    );
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
    const result = await trust.acceptServerKeys(a.jwks);
    expect(result).toMatchObject({ status: 'pinned', added: [a.kid] });
    expect(trust.kids).toEqual([a.kid]);
    expect(pins.stored).toEqual(a.jwks);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('trust on first use'),
      }),
    );
  });

  it('after the first pin, never adds a key the control plane only offers', async () => {
    // The takeover: a control plane (rogue, or the real one with an unendorsed key) offers a new kid.
    const pins = new MemoryPins(a.jwks);
    const trust = await TrustStore.trustOnFirstUse(pins, recordingLogger());
    const selfEndorsed = await rogue.endorse([rogue.publicJwk]);
    expect(await trust.acceptServerKeys(keysMessage([rogue], [selfEndorsed]))).toMatchObject({
      status: 'unchanged',
      added: [],
      refused: [rogue.kid],
    });
    expect(trust.kids).toEqual([a.kid]);
    expect(pins.saves).toBe(0);
    // A forged endorsement in the name of the pinned key is refused and reported.
    const forged = claimSigner(await rogue.endorse([rogue.publicJwk]), a.kid);
    const result = await trust.acceptServerKeys(keysMessage([rogue], [forged]));
    expect(result.refused).toEqual([rogue.kid]);
    expect(result.badEndorsements).toEqual([expect.stringMatching(/signature does not verify/)]);
  });

  it('adds keys through a chain of endorsements from a pinned key, in any order', async () => {
    const pins = new MemoryPins(a.jwks);
    const trust = await TrustStore.trustOnFirstUse(pins, recordingLogger());
    const ab = await a.endorse([a.publicJwk, b.publicJwk]);
    const bc = await b.endorse([b.publicJwk, c.publicJwk]);
    const result = await trust.acceptServerKeys(keysMessage([a, b, c], [bc, ab]));
    expect(result).toMatchObject({ status: 'pinned', added: [b.kid, c.kid], refused: [] });
    expect(trust.kids).toEqual([a.kid, b.kid, c.kid]);
    expect(pins.stored).toMatchObject({ endorsements: [ab, bc] });
    // Nothing new: nothing written.
    const saves = pins.saves;
    expect((await trust.acceptServerKeys(keysMessage([a, b, c], [ab, bc]))).status).toBe(
      'unchanged',
    );
    expect(pins.saves).toBe(saves);
  });

  it('never replaces a pinned key: the same kid with another key is a conflict', async () => {
    const trust = await TrustStore.trustOnFirstUse(new MemoryPins(a.jwks), recordingLogger());
    const impostor = { ...rogue.publicJwk, kid: a.kid };
    const result = await trust.acceptServerKeys({ keys: [impostor] });
    expect(result).toMatchObject({ status: 'unchanged', conflicts: [a.kid] });
    expect(trust.jwks.keys[0]?.x).toBe(a.publicJwk.x);
  });

  it('counts entries that are not keys and keeps the valid ones', async () => {
    const trust = await TrustStore.trustOnFirstUse(new MemoryPins(), recordingLogger());
    const result = await trust.acceptServerKeys({
      keys: [a.publicJwk, { kty: 'oct', k: 'x' }, 42, { ...b.publicJwk, d: 'secret' }],
    });
    expect(result).toMatchObject({ status: 'pinned', added: [a.kid], invalid: 3 });
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
    expect((await trust.acceptServerKeys(a.jwks)).status).toBe('pinned');
    expect(trust.kids).toEqual([a.kid]);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'could not persist the pinned bundle-signing keys',
      }),
    );
  });
});
