import { extendTrust, keysMessageSchema, StepgateError, toJwks } from '@stepgate/protocol';
import type { BundleJwk, BundleJwks } from '@stepgate/protocol';
import { silentLogger, type KeyPinStore, type Logger, type PinnedKeys } from './ports.js';

/**
 * Where trust starts:
 * - `configured`: the keys of `STEPGATE_TRUSTED_KEYS`.
 * - `tofu`: trust on first use. The first key set the control plane sends over the
 *   authenticated connection is pinned and persisted (in memory only, reported, when the
 *   store fails).
 *
 * After that, in both modes, a key is added only when a chain of endorsements (key sets signed
 * by a key already trusted) leads to it; a key the control plane merely lists is refused, so a
 * rogue control plane cannot make the agent trust its own key. Nothing is ever removed or
 * replaced (the operator's `--reset-trust` starts over).
 */
export type TrustMode = 'configured' | 'tofu';

export interface ServerKeysResult {
  /** `pinned`: keys were added (first use, or through endorsements); `unchanged`: nothing new. */
  status: 'unchanged' | 'pinned';
  added: string[];
  /** Kids offered that no endorsement from a trusted key vouches for: not trusted. */
  refused: string[];
  /** Kids offered (or endorsed) with a different key than the one trusted: refused. */
  conflicts: string[];
  /** Entries that were not Ed25519 public keys with a kid (or a message that was no key set). */
  invalid: number;
  /** Why endorsements claiming a trusted signer were refused (forged, malformed...). */
  badEndorsements: string[];
}

/** Endorsements kept in the pin store: one per rotation, the oldest forgotten first. */
const MAX_KEPT_ENDORSEMENTS = 64;
/** Refused kids remembered to explain refused bundles; the oldest forgotten first. */
const MAX_REFUSED_KIDS = 100;

/** The bundle-signing public keys this agent trusts. */
export class TrustStore {
  private current: BundleJwks;
  private endorsements: string[];
  private readonly refusedKids = new Set<string>();

  private constructor(
    readonly mode: TrustMode,
    keys: BundleJwk[],
    endorsements: string[],
    private readonly pins: KeyPinStore | undefined,
    private readonly logger: Logger,
  ) {
    this.current = { keys };
    this.endorsements = endorsements;
  }

  /**
   * Trusts the keys of a configured JWKS (and keys endorsed from them, for this run only: an
   * SDK user without a pin store).
   * @throws StepgateError `key/invalid` when it is not a JWKS of Ed25519 public keys with kids.
   */
  static fromJwks(jwks: unknown, logger: Logger = silentLogger): TrustStore {
    return new TrustStore('configured', configuredKeys(jwks), [], undefined, logger);
  }

  /**
   * Trusts the keys of a configured JWKS, plus the rotated keys the pin store's endorsements
   * chain to from them (walked again on every start: changing the configured keys drops
   * whatever no longer chains from them).
   * @throws StepgateError `key/invalid` when `jwks` is not a JWKS of Ed25519 public keys.
   */
  static async configured(
    jwks: unknown,
    pins: KeyPinStore,
    logger: Logger = silentLogger,
  ): Promise<TrustStore> {
    const anchors = configuredKeys(jwks);
    const stored = await loadPins(pins, logger);
    const walk = await extendTrust({ keys: anchors }, stored?.endorsements ?? []);
    if (walk.added.length > 0)
      logger.info(
        { added: walk.added },
        'trusting rotated bundle-signing keys endorsed from the configured keys',
      );
    return new TrustStore('configured', walk.keys, walk.used, pins, logger);
  }

  /**
   * Trust on first use, starting from whatever was pinned before. An unreadable pin file is
   * reported and treated as empty: the next key set from the control plane is pinned again.
   */
  static async trustOnFirstUse(
    pins: KeyPinStore,
    logger: Logger = silentLogger,
  ): Promise<TrustStore> {
    let keys: BundleJwk[] = [];
    let endorsements: string[] = [];
    const stored = await loadPins(pins, logger);
    if (stored !== undefined) {
      try {
        keys = strictKeys(stored);
        endorsements = stored.endorsements ?? [];
      } catch (error) {
        logger.error(
          { error: describe(error) },
          'the pinned bundle-signing keys are unreadable; pinning again from the control plane',
        );
      }
    }
    return new TrustStore('tofu', keys, endorsements, pins, logger);
  }

  /** The trusted keys as a JWKS (a snapshot: replaced, never mutated, when keys are added). */
  get jwks(): BundleJwks {
    return this.current;
  }

  get kids(): string[] {
    return this.current.keys.map((key) => key.kid);
  }

  /** Whether the control plane offered `kid` and it was refused for want of an endorsement. */
  wasRefused(kid: string): boolean {
    return this.refusedKids.has(kid);
  }

  /**
   * A key set from the control plane (`keys` event). On first use (trust on first use, nothing
   * pinned) every key is pinned; otherwise only keys its endorsements chain to from a trusted
   * key are added, and the rest are refused and reported.
   */
  async acceptServerKeys(message: unknown): Promise<ServerKeysResult> {
    const result: ServerKeysResult = {
      status: 'unchanged',
      added: [],
      refused: [],
      conflicts: [],
      invalid: 0,
      badEndorsements: [],
    };
    const parsed = keysMessageSchema.safeParse(message);
    if (!parsed.success) {
      result.invalid = 1;
      return result;
    }
    const offered = lenientKeys(parsed.data.keys);
    result.invalid = offered.invalid;

    if (this.mode === 'tofu' && this.current.keys.length === 0) {
      if (offered.keys.length === 0) return result;
      await this.trust({ keys: offered.keys }, this.endorsements);
      result.status = 'pinned';
      result.added = offered.keys.map((key) => key.kid);
      this.logger.warn(
        { added: result.added },
        'pinned the bundle-signing keys the control plane sent (trust on first use); set STEPGATE_TRUSTED_KEYS to pin them by configuration instead',
      );
      return result;
    }

    const walk = await extendTrust(this.current, parsed.data.endorsements ?? []);
    result.badEndorsements = walk.failures;
    result.conflicts = [...walk.conflicts];
    const trusted = new Map(walk.keys.map((key) => [key.kid, key]));
    for (const key of offered.keys) {
      const known = trusted.get(key.kid);
      if (known === undefined) result.refused.push(key.kid);
      else if (known.x !== key.x && !result.conflicts.includes(key.kid))
        result.conflicts.push(key.kid);
    }
    for (const kid of walk.added) this.refusedKids.delete(kid);
    for (const kid of result.refused) this.remember(kid);

    if (result.conflicts.length > 0)
      this.logger.error(
        { kids: result.conflicts },
        'the control plane sent a different key under a pinned kid; refused',
      );
    if (result.badEndorsements.length > 0)
      this.logger.error(
        { reasons: result.badEndorsements.slice(0, 5) },
        'refused key endorsements that do not verify with the trusted keys',
      );
    if (result.refused.length > 0)
      this.logger.error(
        { refused: result.refused, trusted: this.kids },
        'refused bundle-signing keys the control plane offered with no endorsement from a trusted key (a key is added only through a key set a trusted key signed; see "Rotating the bundle-signing key")',
      );
    if (walk.added.length === 0) return result;

    await this.trust(
      { keys: walk.keys },
      [...this.endorsements, ...walk.used].slice(-MAX_KEPT_ENDORSEMENTS),
    );
    result.status = 'pinned';
    result.added = walk.added;
    this.logger.warn(
      { added: walk.added, trusted: this.kids },
      'trusting rotated bundle-signing keys endorsed by a trusted key',
    );
    return result;
  }

  private async trust(next: BundleJwks, endorsements: string[]): Promise<void> {
    this.current = next;
    this.endorsements = endorsements;
    if (this.pins === undefined) return;
    const pinned: PinnedKeys = { keys: next.keys };
    if (endorsements.length > 0) pinned.endorsements = endorsements;
    try {
      await this.pins.save(pinned);
    } catch (error) {
      // Still trusted for this run; the next start pins again from the control plane.
      this.logger.error(
        { error: describe(error) },
        'could not persist the pinned bundle-signing keys',
      );
    }
  }

  private remember(kid: string): void {
    this.refusedKids.delete(kid);
    this.refusedKids.add(kid);
    if (this.refusedKids.size > MAX_REFUSED_KIDS) {
      const oldest = this.refusedKids.values().next().value;
      if (oldest !== undefined) this.refusedKids.delete(oldest);
    }
  }
}

/** The pin store's content, or undefined when empty or unreadable (reported). */
async function loadPins(
  pins: KeyPinStore,
  logger: Logger,
): Promise<(Record<string, unknown> & { endorsements?: string[] }) | undefined> {
  let stored: unknown;
  try {
    stored = await pins.load();
  } catch (error) {
    logger.error(
      { error: describe(error) },
      'the pinned bundle-signing keys are unreadable; pinning again from the control plane',
    );
    return undefined;
  }
  if (typeof stored !== 'object' || stored === null) return undefined;
  const record = stored as Record<string, unknown>;
  const endorsements = Array.isArray(record.endorsements)
    ? record.endorsements.filter((item): item is string => typeof item === 'string')
    : undefined;
  return { ...record, ...(endorsements ? { endorsements } : {}) };
}

function configuredKeys(jwks: unknown): BundleJwk[] {
  const keys = strictKeys(jwks);
  if (keys.length === 0) throw new StepgateError('key/invalid', 'the trusted key set is empty');
  return keys;
}

function keyList(jwks: unknown): unknown[] {
  if (
    typeof jwks !== 'object' ||
    jwks === null ||
    !Array.isArray((jwks as { keys?: unknown }).keys)
  )
    throw new StepgateError('key/invalid', 'expected a JWKS: {"keys": [...]}');
  return (jwks as { keys: unknown[] }).keys;
}

function strictKeys(jwks: unknown): BundleJwk[] {
  const keys = keyList(jwks);
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || 'd' in key)
      throw new StepgateError('key/invalid', 'a trusted key set holds public keys only');
  }
  return toJwks(keys as Parameters<typeof toJwks>[0]).keys;
}

/** Each entry on its own: a bad one is counted, and a kid listed twice keeps its first key. */
function lenientKeys(entries: readonly unknown[]): { keys: BundleJwk[]; invalid: number } {
  const byKid = new Map<string, BundleJwk>();
  let invalid = 0;
  for (const entry of entries) {
    try {
      if (typeof entry !== 'object' || entry === null || 'd' in entry)
        throw new Error('not a public key');
      const [key] = toJwks([entry as Parameters<typeof toJwks>[0][number]]).keys;
      if (key === undefined) throw new Error('not a key');
      const first = byKid.get(key.kid);
      if (first === undefined) byKid.set(key.kid, key);
      else if (first.x !== key.x) throw new Error('one kid, two keys');
    } catch {
      invalid++;
    }
  }
  return { keys: [...byKid.values()], invalid };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
