import type { AuthEvidence, Decision } from '@stepgate/policy';
import type { GrantClaims } from '@stepgate/protocol';

/** A grant's evidence as the grant store hands it out. */
export interface GrantEvidence {
  evidence: AuthEvidence;
  kind: GrantClaims['kind'];
}

/**
 * The pieces of evidence a request is evaluated with besides the caller's own: the caller's
 * evidence with the approvals of matching approval grants (when there are any), then each
 * matching grant. Approvals are unioned into every candidate, because an approval is about
 * the request, not about how the requester authenticated; each candidate keeps its own
 * authentication (level, methods, time), never a mix of two.
 */
export function grantCandidates(
  caller: AuthEvidence | undefined,
  grants: readonly GrantEvidence[],
): AuthEvidence[] {
  const approvals: string[] = [];
  const approvalGrants: string[] = [];
  for (const grant of grants) {
    if (grant.kind !== 'approval') continue;
    approvals.push(...(grant.evidence.approvals ?? []));
    approvalGrants.push(...(grant.evidence.grants ?? []));
  }
  const withApprovals = (evidence: AuthEvidence): AuthEvidence => ({
    ...evidence,
    approvals: union(evidence.approvals, approvals),
    grants: union(evidence.grants, approvalGrants),
  });
  const candidates: AuthEvidence[] = [];
  if (approvals.length > 0) candidates.push(withApprovals(caller ?? {}));
  // An approval grant is not authentication: its time is when others approved, so it only
  // lends its approvers (above), never a level or freshness of its own.
  for (const grant of grants)
    if (grant.kind !== 'approval') candidates.push(withApprovals(grant.evidence));
  return candidates;
}

/**
 * Whether `next` is a better answer than `best`: allow beats step_up, and between two
 * step-ups the one asking for less (fewer unmet parts) wins. A deny is never "better":
 * the caller stops at the first deny instead.
 */
export function isBetter(next: Decision, best: Decision): boolean {
  if (best.effect === 'allow' || next.effect === 'deny') return false;
  if (next.effect === 'allow') return true;
  return gapSize(next) < gapSize(best);
}

function gapSize(decision: Decision): number {
  const require = decision.require ?? {};
  return (
    (require.level !== undefined ? 1 : 0) +
    (require.maxAge !== undefined ? 1 : 0) +
    (require.approvals !== undefined ? 1 : 0)
  );
}

function union(a: readonly string[] | undefined, b: readonly string[]): string[] {
  if (b.length === 0) return [...(a ?? [])];
  return [...new Set([...(a ?? []), ...b])];
}
