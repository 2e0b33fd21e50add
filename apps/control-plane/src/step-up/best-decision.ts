import type { AuthEvidence, Decision, DecisionRequest, PolicyEngine } from '@stepgate/policy';

/**
 * Decides with every grant as its own candidate evidence and keeps the best outcome: allow,
 * else the step-up with the smallest unmet requirement. A deny from any candidate is the
 * answer, as on the agent (DecisionPoint): a policy that denies on what `auth` holds must not
 * be outvoted by another grant. Approvals are pooled across grants (an elevation grant and an
 * approval grant together meet `level` + `approvals`).
 */
export function bestDecision(
  engine: PolicyEngine,
  request: DecisionRequest,
  evidence: readonly AuthEvidence[],
  now: Date,
): Decision {
  const approvals = [...new Set(evidence.flatMap((item) => item.approvals ?? []))];
  const candidates: (AuthEvidence | undefined)[] =
    evidence.length === 0 ? [undefined] : evidence.map((item) => ({ ...item, approvals }));
  let best: Decision | undefined;
  for (const candidate of candidates) {
    const decision = engine.decide(request, candidate, { now });
    if (decision.effect === 'deny') return decision;
    if (!best || rank(decision) < rank(best)) best = decision;
    if (decision.effect === 'allow') break;
  }
  return best as Decision;
}

/** Lower is better: allow, then step-ups by how much is missing. */
function rank(decision: Decision): number {
  if (decision.effect === 'allow') return 0;
  if (decision.effect === 'deny') return 1000;
  const gap = decision.require ?? {};
  return (
    1 +
    (gap.level !== undefined ? 100 : 0) +
    (gap.maxAge !== undefined ? 10 : 0) +
    (gap.approvals ?? 0)
  );
}
