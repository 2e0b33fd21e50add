import { StepgateError, toJwks } from '@stepgate/protocol';
import type { BundleJwk, BundleJwks } from '@stepgate/protocol';
import { silentLogger, type KeyPinStore, type Logger } from './ports.js';

/**
 * - `configured`: keys come from configuration (`STEPGATE_TRUSTED_KEYS`); keys the control
 *   plane sends are ignored.
 * - `tofu`: trust on first use. Keys delivered over the authenticated control-plane
 *   connection are pinned and persisted (in memory only, reported, when the store fails); later deliveries can only add keys, never replace
 *   or remove one already pinned.
 */
export type TrustMode = 'configured' | 'tofu';

export interface ServerKeysResult {
  /** `ignored`: configured keys win; `unchanged`: nothing new; `pinned`: keys were added. */
  status: 'ignored' | 'unchanged' | 'pinned';
  added: string[];
  /** Kids the server sent with a different key than the one pinned: refused. */
  conflicts: string[];
  /** Entries that were not Ed25519 public keys with a kid. */
  invalid: number;
}

/** The bundle-signing public keys this agent trusts. */
export class TrustStore {
  private current: BundleJwks;

  private constructor(
    readonly mode: TrustMode,
    keys: BundleJwk[],
    private readonly pins: KeyPinStore | undefined,
    private readonly logger: Logger,
  ) {
    this.current = { keys };
  }

  /**
   * Trusts exactly the keys of a configured JWKS.
   * @throws StepgateError `key/invalid` when it is not a JWKS of Ed25519 public keys with kids.
   */
  static fromJwks(jwks: unknown, logger: Logger = silentLogger): TrustStore {
    const keys = strictKeys(jwks);
    if (keys.length === 0) throw new StepgateError('key/invalid', 'the trusted key set is empty');
    return new TrustStore('configured', keys, undefined, logger);
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
    try {
      const stored = await pins.load();
      if (stored !== undefined) keys = strictKeys(stored);
    } catch (error) {
      logger.error(
        'the pinned bundle-signing keys are unreadable; pinning again from the control plane',
        {
          error: describe(error),
        },
      );
    }
    return new TrustStore('tofu', keys, pins, logger);
  }

  /** The trusted keys as a JWKS (a snapshot: replaced, never mutated, when keys are added). */
  get jwks(): BundleJwks {
    return this.current;
  }

  get kids(): string[] {
    return this.current.keys.map((key) => key.kid);
  }

  /**
   * Keys the control plane sent over the authenticated connection. Configured trust ignores
   * them; trust on first use adds the new ones and persists the pinned set.
   */
  async acceptServerKeys(jwks: unknown): Promise<ServerKeysResult> {
    const result: ServerKeysResult = { status: 'unchanged', added: [], conflicts: [], invalid: 0 };
    if (this.mode === 'configured') {
      result.status = 'ignored';
      return result;
    }
    const offered = lenientKeys(jwks);
    result.invalid = offered.invalid;
    const byKid = new Map(this.current.keys.map((key) => [key.kid, key]));
    const additions: BundleJwk[] = [];
    for (const key of offered.keys) {
      const pinned = byKid.get(key.kid);
      if (pinned === undefined) {
        additions.push(key);
        byKid.set(key.kid, key);
      } else if (pinned.x !== key.x) {
        result.conflicts.push(key.kid);
      }
    }
    if (result.conflicts.length > 0) {
      this.logger.error('the control plane sent a different key under a pinned kid; refused', {
        kids: result.conflicts,
      });
    }
    if (additions.length === 0) return result;

    const next: BundleJwks = { keys: [...this.current.keys, ...additions] };
    const first = this.current.keys.length === 0;
    this.current = next;
    if (this.pins) {
      try {
        await this.pins.save(next);
      } catch (error) {
        // Still pinned for this run; the next start pins again from the control plane.
        this.logger.error('could not persist the pinned bundle-signing keys', {
          error: describe(error),
        });
      }
    }
    result.status = 'pinned';
    result.added = additions.map((key) => key.kid);
    this.logger.warn(
      first
        ? 'pinned the bundle-signing keys the control plane sent (trust on first use); set STEPGATE_TRUSTED_KEYS to pin them by configuration instead'
        : 'added bundle-signing keys the control plane sent to the pinned set (trust on first use)',
      { added: result.added, pinned: next.keys.length },
    );
    return result;
  }
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

function lenientKeys(jwks: unknown): { keys: BundleJwk[]; invalid: number } {
  let entries: unknown[];
  try {
    entries = keyList(jwks);
  } catch {
    return { keys: [], invalid: 1 };
  }
  const keys: BundleJwk[] = [];
  let invalid = 0;
  for (const entry of entries) {
    try {
      if (typeof entry !== 'object' || entry === null) throw new Error('not an object');
      const [key] = toJwks([entry as Parameters<typeof toJwks>[0][number]]).keys;
      if (key) keys.push(key);
    } catch {
      invalid++;
    }
  }
  return { keys, invalid };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
