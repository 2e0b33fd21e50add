import { dataApplies, verifyDataMessage } from '@stepgate/protocol';
import type { DataMessage, DataPayload } from '@stepgate/protocol';
import { silentLogger, type LiveDataCache, type Logger } from './ports.js';
import type { TrustStore } from './trust-store.js';

/** The live documents an agent decides with, as of one data revision. Immutable once built. */
export interface LiveData {
  readonly revision: number;
  readonly documents: Readonly<Record<string, unknown>>;
}

/** What became of a data message offered to the store. */
export type DataOfferResult =
  /** Applied; `persisted` is false when the cache write failed (then it is not acked). */
  | { status: 'applied'; revision: number; persisted: boolean }
  /** At or below the revision held (a replay or a late copy): nothing changed. */
  | { status: 'duplicate'; revision: number }
  /** It starts past the revision held: the agent must ask for what changed since `revision`. */
  | { status: 'gap'; revision: number }
  /** Unsigned, forged, signed by an untrusted key, or malformed. */
  | { status: 'invalid'; revision: number; reason: string };

export interface LiveDataStoreOptions {
  trust: TrustStore;
  cache?: LiveDataCache;
  logger?: Logger;
}

const EMPTY: LiveData = Object.freeze({ revision: 0, documents: Object.freeze({}) });

/**
 * Holds the live data (issue 13): the documents the control plane pushes between bundles, in
 * signed messages (`stepgate.data/v1`). Every message — from the wire or the disk cache — is
 * verified with the trusted bundle-signing keys and applied only by the ordering rule
 * ({@link dataApplies}); a snapshot (`fromRevision` 0) replaces what was held, a delta replaces
 * the documents it carries. One assignment swaps the new state in, so a decision reads one
 * revision, never a mix.
 *
 * The cache keeps the signed messages themselves (re-verified on load), dropping each one whose
 * every document a later one replaced: at most one message per document, and a tampered cache
 * is refused like a tampered message.
 */
export class LiveDataStore {
  private state: LiveData = EMPTY;
  /** The signed messages the state is built from, oldest first (what the cache holds). */
  private chain: Link[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly trust: TrustStore;
  private readonly cache: LiveDataCache | undefined;
  private readonly logger: Logger;

  constructor(options: LiveDataStoreOptions) {
    this.trust = options.trust;
    this.cache = options.cache;
    this.logger = options.logger ?? silentLogger;
  }

  /** The live data to decide with (revision 0 and no documents until the first message). */
  get current(): LiveData {
    return this.state;
  }

  get revision(): number {
    return this.state.revision;
  }

  /** Verifies and applies a message from the control plane, then persists it. Serialised. */
  offer(message: DataMessage): Promise<DataOfferResult> {
    const result = this.queue.then(() => this.apply(message));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Loads the cached messages, each verified again; a cache that does not verify or does not
   * fold in order is discarded (the control plane sends a snapshot on the next connection).
   */
  async loadFromCache(): Promise<void> {
    let stored: DataMessage[] | undefined;
    try {
      stored = await this.cache?.load();
    } catch (error) {
      this.logger.error({ error: describe(error) }, 'cannot read the live-data cache; ignored');
      return;
    }
    if (stored === undefined || stored.length === 0) return;
    const chain: Link[] = [];
    try {
      for (const message of stored) {
        const payload = await verifyDataMessage(message, this.trust.jwks);
        const last = chain.at(-1);
        if (last !== undefined && payload.revision <= last.payload.revision)
          throw new Error(`revision ${payload.revision} follows ${last.payload.revision}`);
        chain.push({ message, payload });
      }
    } catch (error) {
      this.logger.error(
        { error: describe(error) },
        'the cached live data does not verify; starting without it',
      );
      return;
    }
    this.chain = chain;
    this.state = fold(chain.map((link) => link.payload));
    this.logger.info({ dataRevision: this.state.revision }, 'live data loaded from the cache');
  }

  private async apply(message: DataMessage): Promise<DataOfferResult> {
    let payload: DataPayload;
    try {
      payload = await verifyDataMessage(message, this.trust.jwks);
    } catch (error) {
      return { status: 'invalid', revision: message.revision, reason: describe(error) };
    }
    const held = this.state.revision;
    const order = dataApplies(held, payload);
    if (order !== 'apply') return { status: order, revision: held };
    const link: Link = { message, payload };
    const chain = compact(payload.fromRevision === 0 ? [link] : [...this.chain, link]);
    const next = fold(chain.map((entry) => entry.payload));
    let persisted = true;
    try {
      await this.cache?.save(chain.map((entry) => entry.message));
    } catch (error) {
      persisted = false;
      this.logger.error(
        { dataRevision: next.revision, error: describe(error) },
        'cannot write the live-data cache; applied in memory only, not acknowledged',
      );
    }
    this.chain = chain;
    this.state = next;
    return { status: 'applied', revision: next.revision, persisted };
  }
}

/** A message the state is built from, with its verified payload. */
interface Link {
  message: DataMessage;
  payload: DataPayload;
}

/** The state the messages build, oldest first: each replaces the documents it carries. */
function fold(payloads: readonly DataPayload[]): LiveData {
  const documents: Record<string, unknown> = {};
  for (const payload of payloads)
    for (const [name, value] of Object.entries(payload.documents)) documents[name] = value;
  const revision = payloads.at(-1)?.revision ?? 0;
  return Object.freeze({ revision, documents: Object.freeze(documents) });
}

/** Drops every message whose documents all appear in a later one (the newest always stays). */
function compact(chain: readonly Link[]): Link[] {
  const later = new Set<string>();
  const kept: Link[] = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i] as Link;
    const names = Object.keys(link.payload.documents);
    if (i === chain.length - 1 || names.some((name) => !later.has(name))) kept.push(link);
    for (const name of names) later.add(name);
  }
  return kept.reverse();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
