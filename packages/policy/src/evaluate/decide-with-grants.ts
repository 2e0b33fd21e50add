import type { AuthEvidence, Decision, DecisionRequest } from '../model.js';
import type { DecideOptions } from './engine.js';

/** `elevation`: the subject proved a factor; `approval`: other people approved one request. */
export type GrantKind = 'elevation' | 'approval';

/**
 * One grant in force for the request's principal whose scope covers the request, as decision
 * evidence. Which grants cover a request (subject, expiry, revocation, scope) is the grant
 * holder's business; how they count is {@link decideWithGrants}'s.
 */
export interface GrantEvidence {
  /** The grant id: named on the decision when the grant made it pass; orders the candidates. */
  id: string;
  kind: GrantKind;
  /** `{amr, level?, authTime, approvals, grants: [id]}` as signed in the grant. */
  evidence: AuthEvidence;
}

/** What evaluates one piece of evidence: a `PolicyEngine`. */
export interface EvidenceDecider {
  decide(request: DecisionRequest, evidence?: AuthEvidence, options?: DecideOptions): Decision;
}

/** What {@link decideWithGrants} decides from, besides the engine and the request. */
export interface DecideWithGrantsInput {
  /** The decision on the caller's own evidence: the answer unless a grant does better. */
  first: Decision;
  /** The caller's own verified evidence (a token), if any; never what the requester claims. */
  evidence?: AuthEvidence;
  /** The grants covering the request (see {@link GrantEvidence}); their order does not matter. */
  grants: readonly GrantEvidence[];
  now: Date;
}

/** The answer of {@link decideWithGrants}. */
export interface GrantedDecision {
  decision: Decision;
  /** The evidence `decision` was made with (for a shadow evaluation with the same evidence). */
  evidence: AuthEvidence | undefined;
  /** The ids of the grants whose evidence turned the step-up into an allow. */
  grants?: string[];
}

/**
 * Whether grants can change `decision`: only a step-up can be met by more evidence. Callers
 * look grants up only then, so most requests are decided with one evaluation.
 */
export function grantsMayImprove(decision: Decision): boolean {
  return decision.effect === 'step_up';
}

/**
 * The best decision given the principal's grants: the one rule both the agent and the control
 * plane's `/v1/check` apply, so a check answers exactly as an agent would.
 *
 * Candidates, each decided on its own: the caller's evidence with the approvals of every
 * approval grant, then each elevation grant with those approvals. An approval grant lends
 * only its approvers (and its id): its time is when others approved, not an authentication of
 * the requester, so it never lends a level, methods or freshness. Each candidate keeps one
 * authentication (level, methods, time), never a mix of two.
 *
 * The answer: a deny from any candidate (a policy that denies on what `auth` holds is not
 * outvoted by another grant); else an allow; else the step-up with the fewest unmet parts
 * (level, maxAge, approvals), `first` winning a tie, then the grants in id order.
 */
export function decideWithGrants(
  engine: EvidenceDecider,
  request: DecisionRequest,
  input: DecideWithGrantsInput,
): GrantedDecision {
  const { first, evidence, now } = input;
  let best: GrantedDecision = { decision: first, evidence };
  if (!grantsMayImprove(first) || input.grants.length === 0) return best;
  for (const candidate of candidates(evidence, input.grants)) {
    const decision = engine.decide(request, candidate, { now });
    if (decision.effect === 'deny') return { decision, evidence: candidate };
    if (isBetter(decision, best.decision)) best = { decision, evidence: candidate };
  }
  if (best.decision.effect === 'allow') {
    const used = best.evidence?.grants ?? [];
    if (used.length > 0) best.grants = [...used];
  }
  return best;
}

function candidates(
  caller: AuthEvidence | undefined,
  grants: readonly GrantEvidence[],
): AuthEvidence[] {
  // Id order: the agent holds grants in arrival order, the control plane in issue order, and
  // a tie between two step-ups must be broken the same way on both.
  const sorted = [...grants].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const approvals: string[] = [];
  const approvalGrants: string[] = [];
  for (const grant of sorted) {
    if (grant.kind !== 'approval') continue;
    approvals.push(...(grant.evidence.approvals ?? []));
    approvalGrants.push(grant.id);
  }
  const withApprovals = (own: AuthEvidence): AuthEvidence => ({
    ...own,
    approvals: union(own.approvals, approvals),
    grants: union(own.grants, approvalGrants),
  });
  const out: AuthEvidence[] = [];
  if (approvals.length > 0) out.push(withApprovals(caller ?? {}));
  for (const grant of sorted)
    if (grant.kind === 'elevation')
      out.push(
        withApprovals({ ...grant.evidence, grants: union(grant.evidence.grants, [grant.id]) }),
      );
  return out;
}

/**
 * Whether `next` answers better than `best`: allow beats step_up, and between two step-ups
 * the one with fewer unmet parts wins. A deny is never "better": the caller stops at it.
 */
function isBetter(next: Decision, best: Decision): boolean {
  if (best.effect === 'allow' || next.effect === 'deny') return false;
  if (next.effect === 'allow') return true;
  return unmetParts(next) < unmetParts(best);
}

/** How many parts of the requirement the decision's evidence leaves unmet. */
function unmetParts(decision: Decision): number {
  return decision.unmet?.length ?? 0;
}

function union(a: readonly string[] | undefined, b: readonly string[]): string[] {
  if (b.length === 0) return [...(a ?? [])];
  return [...new Set([...(a ?? []), ...b])];
}
