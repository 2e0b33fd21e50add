import type { AuthEvidence, Level, Requirement, RequirementPart } from '../model.js';

/** Evidence resolved against the settings' levels; what conditions see as `auth`. */
export interface ResolvedAuth {
  level: string;
  rank: number;
  acr: string;
  amr: string[];
  authTime: Date | null;
  approvals: string[];
  grants: string[];
}

const NO_STRINGS = Object.freeze([]) as unknown as string[];

/** What no evidence resolves to: shared and frozen (conditions never modify `auth`). */
const NO_AUTH: ResolvedAuth = Object.freeze({
  level: '',
  rank: -1,
  acr: '',
  amr: NO_STRINGS,
  authTime: null,
  approvals: NO_STRINGS,
  grants: NO_STRINGS,
});

/** Every unmet list, indexed by its parts as bits (level 1, maxAge 2, approvals 4). */
const UNMET_LISTS: readonly (readonly RequirementPart[])[] = Array.from({ length: 8 }, (_, bits) =>
  Object.freeze(
    (['level', 'maxAge', 'approvals'] as const).filter((_, i) => (bits & (1 << i)) !== 0),
  ),
);

/** Clock skew tolerated when an authentication time lies in the future. */
const FUTURE_SKEW_MS = 60_000;

export class Levels {
  private readonly ranks = new Map<string, number>();
  private readonly byAcr = new Map<string, number>();
  private readonly byAmr = new Map<string, number>();

  constructor(readonly levels: readonly Level[]) {
    levels.forEach((level, rank) => {
      this.ranks.set(level.name, rank);
      for (const acr of level.acr) this.byAcr.set(acr, rank);
      for (const amr of level.amr) this.byAmr.set(amr, Math.max(rank, this.byAmr.get(amr) ?? -1));
    });
  }

  /** -1 for an unknown or absent level: it satisfies no level requirement. */
  rank(name: string | undefined): number {
    return name === undefined ? -1 : (this.ranks.get(name) ?? -1);
  }

  nameOf(rank: number): string {
    return this.levels[rank]?.name ?? '';
  }

  /** The highest level any piece of the evidence reaches: an explicit level, the acr, or an amr method. */
  resolve(evidence: AuthEvidence | undefined): ResolvedAuth {
    if (!evidence) return NO_AUTH;
    let rank = this.rank(evidence.level);
    const acr = typeof evidence.acr === 'string' ? evidence.acr : '';
    rank = Math.max(rank, this.byAcr.get(acr) ?? -1);
    const amr = stringList(evidence.amr);
    for (let i = 0; i < amr.length; i++)
      rank = Math.max(rank, this.byAmr.get(amr[i] as string) ?? -1);
    return {
      level: this.nameOf(rank),
      rank,
      acr,
      amr,
      authTime: toDate(evidence.authTime),
      approvals: stringList(evidence.approvals),
      grants: stringList(evidence.grants),
    };
  }

  /** Merges matching requirements: highest level, shortest maxAge, most approvals. */
  merge(requirements: readonly Requirement[]): Requirement {
    const merged: Requirement = {};
    for (const r of requirements) {
      if (r.level !== undefined && this.rank(r.level) > this.rank(merged.level))
        merged.level = r.level;
      if (r.maxAge !== undefined && (merged.maxAge === undefined || r.maxAge < merged.maxAge))
        merged.maxAge = r.maxAge;
      if (r.approvals !== undefined && r.approvals > (merged.approvals ?? 0))
        merged.approvals = r.approvals;
    }
    return merged;
  }

  /** Whether the evidence meets every part of `required` ({@link unmet} empty, with no list made). */
  meets(required: Requirement, auth: ResolvedAuth, requester: string, now: Date): boolean {
    return (
      (required.level === undefined || auth.rank >= this.rank(required.level)) &&
      (required.maxAge === undefined || isFresh(auth.authTime, required.maxAge, now)) &&
      (required.approvals === undefined ||
        countApprovals(auth.approvals, requester) >= required.approvals)
    );
  }

  /**
   * The parts of `required` the evidence does not meet, in REQUIREMENT_PARTS order; empty when
   * all are met. One of eight shared frozen lists: a step-up decision carries it into the
   * agent's log, where an object made per decision costs the collector.
   */
  unmet(
    required: Requirement,
    auth: ResolvedAuth,
    requester: string,
    now: Date,
  ): readonly RequirementPart[] {
    let parts = 0;
    if (required.level !== undefined && auth.rank < this.rank(required.level)) parts |= 1;
    if (required.maxAge !== undefined && !isFresh(auth.authTime, required.maxAge, now)) parts |= 2;
    if (
      required.approvals !== undefined &&
      countApprovals(auth.approvals, requester) < required.approvals
    )
      parts |= 4;
    return UNMET_LISTS[parts] as readonly RequirementPart[];
  }
}

function isFresh(authTime: Date | null, maxAgeSeconds: number, now: Date): boolean {
  if (!authTime) return false;
  const age = now.getTime() - authTime.getTime();
  return age <= maxAgeSeconds * 1000 && age >= -FUTURE_SKEW_MS;
}

/**
 * Distinct approvers other than the requester: nobody approves their own request. Subjects
 * are compared case-insensitively ({@link approverKey}): `Bob` and `bob` are one approver, and
 * `ALICE` cannot approve alice's request.
 */
export function countApprovals(approvals: readonly string[], requester: string): number {
  const distinct = new Set(approvals.map(approverKey));
  distinct.delete(approverKey(requester));
  return distinct.size;
}

/**
 * The form in which two approver subjects are the same person: Unicode-compatibility
 * normalised (NFKC: full-width and other look-alike forms fold to the plain ones) and case
 * folded (upper- then lower-casing also folds `ß` to `ss`). The control plane counts approvers
 * and refuses the requester with this same function, so a grant never holds two of one person.
 */
export function approverKey(subject: string): string {
  return subject.normalize('NFKC').toUpperCase().toLowerCase();
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'string' || typeof value === 'number') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  return null;
}

/** The strings of a list: the list itself when all are (the usual case), never modified. */
function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return NO_STRINGS;
  for (let i = 0; i < value.length; i++)
    if (typeof value[i] !== 'string')
      return value.filter((item): item is string => typeof item === 'string');
  return value as string[];
}
