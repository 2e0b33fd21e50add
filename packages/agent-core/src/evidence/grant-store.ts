import { globMatch } from '@stepgate/policy';
import type { AuthEvidence, GrantEvidence } from '@stepgate/policy';
import {
  grantAppliesToKind,
  isGrantCurrent,
  verifyGrant,
  verifyGrantRemovals,
} from '@stepgate/protocol';
import type { GrantClaims, GrantRemovals, GrantsMessage } from '@stepgate/protocol';
import type { JSONWebKeySet } from 'jose';
import { silentLogger, systemClock, type Clock, type GrantCache, type Logger } from '../ports.js';

/** Where the grant store reads the trusted bundle-signing keys (the TrustStore). */
export interface GrantKeys {
  readonly jwks: JSONWebKeySet;
}

export interface GrantStoreOptions {
  trust: GrantKeys;
  cache?: GrantCache;
  clock?: Clock;
  logger?: Logger;
}

/** What one grants message changed. */
export interface GrantsApplied {
  added: number;
  removed: number;
  /** Grants refused (bad signature, wrong type, malformed), with the reason. */
  refused: string[];
  /** Why the message's removals (revocations, full set) were refused, when they were. */
  removalsRefused?: string;
}

/** What to add and remove, once verified (or read from the agent's own cache). */
interface GrantChange {
  grants: string[];
  removals: GrantRemovals;
}

interface HeldGrant {
  claims: GrantClaims;
  jws: string;
  expiresAtMs: number;
}

/** Revoked ids remembered so a late message cannot bring them back; oldest forgotten first. */
const MAX_REVOKED = 100_000;

/**
 * The grants this agent honours: verified with the trusted bundle-signing keys, indexed by
 * subject, pruned when expired. Removals too are verified: a revocation or a full set removes
 * grants only as the control plane signed it. Revoked ids are remembered, so a stale or
 * replayed message can never resurrect a revoked grant. Messages are applied one at a time.
 */
export class GrantStore {
  private readonly grants = new Map<string, HeldGrant>();
  private readonly bySubject = new Map<string, HeldGrant[]>();
  private readonly revoked = new Set<string>();
  private readonly trust: GrantKeys;
  private readonly cache: GrantCache | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: GrantStoreOptions) {
    this.trust = options.trust;
    this.cache = options.cache;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** How many grants are held (expired ones may linger until the next prune). */
  get size(): number {
    return this.grants.size;
  }

  /** The ids of the grants held, for status and tests. */
  ids(): string[] {
    return [...this.grants.keys()];
  }

  /**
   * Applies a grants message from the control plane and persists the result. Its grants are
   * added when they verify; its removals happen only when signed (see `verifyGrantRemovals`),
   * otherwise they are refused and reported.
   */
  apply(message: GrantsMessage): Promise<GrantsApplied> {
    return this.serialised(async () => {
      let removals: GrantRemovals = { revoked: [] };
      let removalsRefused: string | undefined;
      try {
        removals = await verifyGrantRemovals(message, this.trust.jwks);
      } catch (error) {
        removalsRefused = error instanceof Error ? error.message : String(error);
        this.logger.error(
          { reason: removalsRefused, revoked: message.revoked.length, full: message.full },
          'grant removals refused: nothing removed',
        );
      }
      const result = await this.applyNow({ grants: message.grants, removals });
      if (removalsRefused !== undefined) result.removalsRefused = removalsRefused;
      await this.persist();
      return result;
    });
  }

  /**
   * Loads the persisted grants (re-verified: the file is untrusted) and revoked ids. An
   * unreadable cache is reported and ignored.
   */
  loadFromCache(): Promise<GrantsApplied | undefined> {
    return this.serialised(async () => {
      if (this.cache === undefined) return undefined;
      let stored: Awaited<ReturnType<GrantCache['load']>>;
      try {
        stored = await this.cache.load();
      } catch (error) {
        this.logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'the cached grants are unreadable; waiting for the control plane',
        );
        return undefined;
      }
      if (stored === undefined) return undefined;
      // The agent's own file (0600, in its cache dir): its revoked ids are taken as written.
      const revoked = stored.revoked.filter((id) => typeof id === 'string');
      return this.applyNow({ grants: stored.grants, removals: { revoked } });
    });
  }

  /**
   * Evidence from the current grants of `subject` whose scope covers the request (action and
   * resource-id globs, and the resource kind: see grantAppliesToKind): one entry per grant,
   * for `decideWithGrants`. Empty — and cheap — when the subject holds none.
   */
  evidenceFor(
    subject: string,
    action: string,
    resource: { kind: string; id: string },
    nowMs: number = this.clock.now(),
  ): GrantEvidence[] {
    const held = this.bySubject.get(subject);
    if (held === undefined) return [];
    const out: GrantEvidence[] = [];
    for (const grant of held) {
      const { claims } = grant;
      if (!isGrantCurrent(claims, nowMs)) continue;
      if (!grantAppliesToKind(claims, resource.kind)) continue;
      if (!claims.actions.some((glob) => safeGlob(action, glob))) continue;
      if (!claims.resources.some((glob) => safeGlob(resource.id, glob))) continue;
      const evidence: AuthEvidence = {
        amr: [...claims.amr],
        authTime: claims.authTime,
        approvals: [...claims.approvals],
        grants: [claims.id],
      };
      if (claims.level !== undefined) evidence.level = claims.level;
      out.push({ id: claims.id, kind: claims.kind, evidence });
    }
    return out;
  }

  /** Drops expired grants; returns how many. */
  prune(nowMs: number = this.clock.now()): number {
    let removed = 0;
    for (const [id, grant] of this.grants)
      if (grant.expiresAtMs <= nowMs) {
        this.remove(id);
        removed++;
      }
    return removed;
  }

  private async applyNow(change: GrantChange): Promise<GrantsApplied> {
    const nowMs = this.clock.now();
    const result: GrantsApplied = { added: 0, removed: 0, refused: [] };
    for (const id of change.removals.revoked) {
      this.remember(id);
      if (this.remove(id)) result.removed++;
    }
    const verified: HeldGrant[] = [];
    for (const jws of change.grants) {
      try {
        const claims = await verifyGrant(jws, this.trust.jwks);
        verified.push({ claims, jws, expiresAtMs: Date.parse(claims.expiresAt) });
      } catch (error) {
        result.refused.push(error instanceof Error ? error.message : String(error));
      }
    }
    const current = change.removals.current;
    if (current !== undefined) {
      // A full set: what it does not list is gone, unless issued after the set was read (an
      // old full set replayed cannot remove a newer grant).
      for (const [id, grant] of [...this.grants])
        if (!current.ids.has(id) && Date.parse(grant.claims.issuedAt) < current.asOfMs) {
          this.remove(id);
          result.removed++;
        }
    }
    for (const grant of verified) {
      if (this.revoked.has(grant.claims.id) || grant.expiresAtMs <= nowMs) continue;
      if (!this.grants.has(grant.claims.id)) result.added++;
      this.remove(grant.claims.id);
      this.grants.set(grant.claims.id, grant);
      const list = this.bySubject.get(grant.claims.subject);
      if (list === undefined) this.bySubject.set(grant.claims.subject, [grant]);
      else list.push(grant);
    }
    result.removed += this.prune(nowMs);
    if (result.refused.length > 0)
      this.logger.warn(
        { count: result.refused.length, first: result.refused[0] },
        'grants refused',
      );
    if (result.added > 0 || result.removed > 0)
      this.logger.info(
        { added: result.added, removed: result.removed, held: this.grants.size },
        'grants updated',
      );
    return result;
  }

  private remove(id: string): boolean {
    const grant = this.grants.get(id);
    if (grant === undefined) return false;
    this.grants.delete(id);
    const list = this.bySubject.get(grant.claims.subject);
    if (list !== undefined) {
      const rest = list.filter((other) => other.claims.id !== id);
      if (rest.length === 0) this.bySubject.delete(grant.claims.subject);
      else this.bySubject.set(grant.claims.subject, rest);
    }
    return true;
  }

  private remember(id: string): void {
    this.revoked.delete(id);
    this.revoked.add(id);
    if (this.revoked.size > MAX_REVOKED) {
      const oldest = this.revoked.values().next().value;
      if (oldest !== undefined) this.revoked.delete(oldest);
    }
  }

  private async persist(): Promise<void> {
    if (this.cache === undefined) return;
    try {
      await this.cache.save({
        grants: [...this.grants.values()].map((grant) => grant.jws),
        revoked: [...this.revoked],
      });
    } catch (error) {
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'could not persist the grants',
      );
    }
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A grant's pattern was validated by the control plane; a bad one simply matches nothing. */
function safeGlob(value: string, glob: string): boolean {
  try {
    return globMatch(value, glob);
  } catch {
    return false;
  }
}
