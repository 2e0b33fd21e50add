import { parsePolicySet, PolicyEngine } from '@stepgate/policy';
import type { Entities, IssuerSettings, Level } from '@stepgate/policy';
import { BundleVerificationError, isNewerBundle, verifyBundle } from '@stepgate/protocol';
import type { BundlePayload } from '@stepgate/protocol';
import { compileMask, type CompiledMask } from './decision-record.js';
import {
  silentLogger,
  systemClock,
  type BundleCache,
  type BundleKind,
  type Clock,
  type Logger,
} from './ports.js';
import type { TrustStore } from './trust-store.js';

/** Where an offered bundle came from; only bundles from the control plane are written to the cache. */
export type BundleSource = 'control-plane' | 'cache' | 'local';

/** A verified bundle with its prepared engine, ready to decide. Immutable once built. */
export interface LoadedBundle {
  readonly kind: BundleKind;
  readonly revision: number;
  readonly payload: BundlePayload;
  readonly engine: PolicyEngine;
  readonly mask: CompiledMask;
  readonly levels: readonly Level[];
  /** The bearer-token issuers the policy set trusts (keys: inline or `payload.issuerKeys`). */
  readonly issuers: readonly IssuerSettings[];
  /** The AuthZEN search candidates the policy set declares (`kind: Entities`); empty when none. */
  readonly entities: Entities;
  /** When the control plane signed it (epoch ms). */
  readonly issuedAt: number;
  /** When this agent swapped it in (epoch ms). */
  readonly loadedAt: number;
  readonly source: BundleSource;
}

const NO_ENTITIES: Entities = { subjects: [], resources: [], actions: [] };

/** Why a bundle was not applied. */
export type RefusalCode =
  | 'invalid'
  | 'kind_mismatch'
  | 'revision_mismatch'
  | 'not_newer'
  | 'revision_jump'
  | 'duplicate'
  | 'policy_set';

/**
 * How far past the last revision it holds an agent accepts a bundle by default. Revisions move
 * one at a time, on an activation, rollback, shadow change or issuer-key refresh: 100,000 is
 * years of changes, while a forged far-future revision (which no real revision could ever
 * overtake, locking the agent out of real updates) is refused.
 */
export const DEFAULT_MAX_REVISION_STEP = 100_000;

export type OfferResult =
  | { applied: true; kind: BundleKind; revision: number; rollback: boolean }
  | { applied: false; kind: BundleKind; revision?: number; code: RefusalCode; reason: string };

export interface OfferOptions {
  source?: BundleSource;
  /** The revision the envelope announced; the signed payload must carry the same. */
  expectedRevision?: number;
}

export interface BundleStoreOptions {
  trust: TrustStore;
  cache?: BundleCache;
  /** This agent's labels: policies with an `agents` selector apply only where they match. */
  labels?: Readonly<Record<string, string>>;
  /**
   * The most a bundle's (or a shadow clear's) revision may exceed the last revision held;
   * default {@link DEFAULT_MAX_REVISION_STEP}. Nothing bounds the first bundle of an agent that
   * holds none.
   */
  maxRevisionStep?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Holds the verified active and shadow bundles. Every bundle — from the control plane, from
 * the disk cache or handed in by an SDK user — goes through {@link offer}: signature against
 * the trusted keys, kind, downgrade rule, policy set, engine build (the pending bundle), and
 * only then one assignment swaps it in, so a decision sees either the old bundle or the new
 * one, never a mix. Offers are serialised: a slow verification can never let an older bundle
 * overtake a newer one.
 */
export class BundleStore {
  private activeBundle: LoadedBundle | undefined;
  private shadowBundle: LoadedBundle | undefined;
  /** The revision the shadow was last cleared at: older shadow bundles stay refused. */
  private shadowFloor = 0;
  private syncedAtMs: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly trust: TrustStore;
  private readonly cache: BundleCache | undefined;
  private readonly labels: Readonly<Record<string, string>>;
  private readonly maxRevisionStep: number;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(options: BundleStoreOptions) {
    this.trust = options.trust;
    this.cache = options.cache;
    this.labels = options.labels ?? {};
    this.maxRevisionStep = options.maxRevisionStep ?? DEFAULT_MAX_REVISION_STEP;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  get active(): LoadedBundle | undefined {
    return this.activeBundle;
  }

  get shadow(): LoadedBundle | undefined {
    return this.shadowBundle;
  }

  /**
   * The last moment this agent knew its active bundle was current (epoch ms): when a bundle
   * arrived, or when the control-plane connection last went up or down.
   */
  get syncedAt(): number | undefined {
    return this.syncedAtMs;
  }

  /** The revisions held, as announced in the handshake. */
  revisions(): { active?: number; shadow?: number } {
    const revisions: { active?: number; shadow?: number } = {};
    if (this.activeBundle) revisions.active = this.activeBundle.revision;
    if (this.shadowBundle) revisions.shadow = this.shadowBundle.revision;
    return revisions;
  }

  /** Records that the bundle was known current at `at` (monotonic: never moves back). */
  markSynced(at: number = this.clock.now()): void {
    if (this.syncedAtMs === undefined || at > this.syncedAtMs) this.syncedAtMs = at;
  }

  /** Verifies a signed bundle and, when it is acceptable, swaps it in. Never throws. */
  offer(kind: BundleKind, jws: string, options: OfferOptions = {}): Promise<OfferResult> {
    return this.serialised(() => this.apply(kind, jws, options));
  }

  /**
   * Loads the cached bundles through the same checks as bundles from the wire. A refused
   * cache entry is reported and left alone (the next verified bundle overwrites it).
   */
  async loadFromCache(): Promise<{ active?: OfferResult; shadow?: OfferResult }> {
    const results: { active?: OfferResult; shadow?: OfferResult } = {};
    if (!this.cache) return results;
    for (const kind of ['active', 'shadow'] as const) {
      let jws: string | undefined;
      try {
        jws = await this.cache.load(kind);
      } catch (error) {
        results[kind] = refuse(
          kind,
          'invalid',
          `the cached bundle is unreadable: ${describe(error)}`,
        );
        this.logger.error({ reason: results[kind].reason }, `cached ${kind} bundle refused`);
        continue;
      }
      if (jws === undefined) continue;
      const result = await this.offer(kind, jws, { source: 'cache' });
      results[kind] = result;
      if (!result.applied)
        this.logger.error(
          { reason: result.reason, code: result.code },
          `cached ${kind} bundle refused`,
        );
    }
    const active = this.activeBundle;
    if (active?.source === 'cache') {
      let persisted: number | undefined;
      try {
        persisted = await this.cache.loadSyncedAt?.();
      } catch {
        persisted = undefined;
      }
      // Never later than now: a clock jump or an edited file must not extend the bundle's life.
      const synced = Math.min(Math.max(active.issuedAt, persisted ?? 0), this.clock.now());
      this.syncedAtMs = synced;
    }
    return results;
  }

  /**
   * Removes the shadow bundle, unless a newer one than the clear already replaced it. The
   * caller verified the clear's signature; a revision beyond the step is refused like a bundle's.
   */
  clearShadow(revision: number): Promise<boolean> {
    return this.serialised(async () => {
      const jump = this.jumpBeyondStep(revision);
      if (jump !== undefined) {
        this.logger.error({ revision, reason: jump }, 'shadow clear refused');
        return false;
      }
      this.shadowFloor = Math.max(this.shadowFloor, revision);
      const held = this.shadowBundle;
      if (held === undefined || held.revision >= revision) return false;
      this.shadowBundle = undefined;
      this.logger.info({ revision: held.revision, clearedAt: revision }, 'shadow bundle cleared');
      await this.persist(() => this.cache?.remove('shadow'), 'remove the cached shadow bundle');
      return true;
    });
  }

  /** Persists the sync time so staleness survives a restart (best effort). */
  async saveSyncedAt(): Promise<void> {
    const at = this.syncedAtMs;
    if (at === undefined || this.cache?.saveSyncedAt === undefined) return;
    await this.persist(() => this.cache?.saveSyncedAt?.(at), 'save the sync time');
  }

  private async apply(kind: BundleKind, jws: string, options: OfferOptions): Promise<OfferResult> {
    const source = options.source ?? 'local';
    let payload: BundlePayload;
    try {
      payload = await verifyBundle(jws, this.trust.jwks);
    } catch (error) {
      return refuse(kind, 'invalid', this.unverifiedReason(error), options.expectedRevision);
    }
    if (payload.kind !== kind) {
      return refuse(
        kind,
        'kind_mismatch',
        `bundle refused: signed as ${payload.kind}, delivered as ${kind}`,
        payload.revision,
      );
    }
    if (options.expectedRevision !== undefined && options.expectedRevision !== payload.revision) {
      return refuse(
        kind,
        'revision_mismatch',
        `bundle refused: announced as revision ${options.expectedRevision}, signed as ${payload.revision}`,
        payload.revision,
      );
    }
    const held = kind === 'active' ? this.activeBundle : this.shadowBundle;
    if (held !== undefined && held.revision === payload.revision) {
      return refuse(
        kind,
        'duplicate',
        `revision ${payload.revision} is already held`,
        payload.revision,
      );
    }
    if (!isNewerBundle(held, payload)) {
      return refuse(
        kind,
        'not_newer',
        `bundle refused: revision ${payload.revision} is older than the held revision ${held?.revision}`,
        payload.revision,
      );
    }
    const jump = this.jumpBeyondStep(payload.revision);
    if (jump !== undefined) return refuse(kind, 'revision_jump', jump, payload.revision);
    if (kind === 'shadow' && payload.revision <= this.shadowFloor) {
      return refuse(
        kind,
        'not_newer',
        `bundle refused: the shadow was cleared at revision ${this.shadowFloor}`,
        payload.revision,
      );
    }

    let pending: LoadedBundle;
    try {
      const policySet = parsePolicySet(payload.policySet);
      const now = this.clock.now();
      pending = Object.freeze({
        kind,
        revision: payload.revision,
        payload,
        engine: new PolicyEngine(policySet, { revision: payload.revision, labels: this.labels }),
        mask: compileMask(policySet.settings.mask),
        levels: policySet.settings.levels,
        issuers: policySet.settings.issuers,
        entities: policySet.entities ?? NO_ENTITIES,
        issuedAt: Date.parse(payload.issuedAt),
        loadedAt: now,
        source,
      });
    } catch (error) {
      return refuse(
        kind,
        'policy_set',
        `bundle refused: its policy set cannot be loaded: ${describe(error)}`,
        payload.revision,
      );
    }

    // The swap: one assignment.
    if (kind === 'active') this.activeBundle = pending;
    else this.shadowBundle = pending;
    if (source !== 'cache') this.markSynced(pending.loadedAt);
    this.logger.info(
      {
        revision: pending.revision,
        version: payload.version.number,
        sha: payload.version.sha,
        rollback: payload.rollback,
        source,
      },
      `${kind} bundle applied`,
    );
    if (source === 'control-plane') {
      await this.persist(() => this.cache?.save(kind, jws), `cache the ${kind} bundle`);
      await this.saveSyncedAt();
    }
    return { applied: true, kind, revision: pending.revision, rollback: payload.rollback };
  }

  /**
   * Why `revision` is too far past the last revision held (either kind, or a shadow clear: one
   * counter), or undefined when it is within the step or nothing is held yet.
   */
  private jumpBeyondStep(revision: number): string | undefined {
    const held = Math.max(
      this.activeBundle?.revision ?? 0,
      this.shadowBundle?.revision ?? 0,
      this.shadowFloor,
    );
    if (held === 0 || revision - held <= this.maxRevisionStep) return undefined;
    return `bundle refused: revision ${revision} is more than ${this.maxRevisionStep} past the last revision held (${held}); a forged far-future revision would lock out every real update (if the control plane really moved this far, raise the maximum revision step)`;
  }

  private unverifiedReason(error: unknown): string {
    if (!(error instanceof BundleVerificationError)) return `bundle refused: ${describe(error)}`;
    const kid = (error.details as { kid?: unknown } | undefined)?.kid;
    if (error.reason === 'unknown_kid' && typeof kid === 'string' && this.trust.wasRefused(kid))
      return `bundle refused: signed by key ${kid}, which the control plane offered with no endorsement from a trusted key (a key is added only through a key set a trusted key signed)`;
    return error.message;
  }

  private async persist(write: () => Promise<void> | undefined, what: string): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.warn({ error: describe(error) }, `could not ${what}`);
    }
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function refuse(
  kind: BundleKind,
  code: RefusalCode,
  reason: string,
  revision?: number,
): Extract<OfferResult, { applied: false }> {
  const result: Extract<OfferResult, { applied: false }> = { applied: false, kind, code, reason };
  if (revision !== undefined) result.revision = revision;
  return result;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
