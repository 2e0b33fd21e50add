import type { Decision, Reason } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';

/** What an approval request is for, as the messages name it. */
export interface RequestedAction {
  subject: string;
  action: string;
  resource: { kind: string; id: string };
}

/**
 * A grant lists each approver, at most 64 (grantClaimsSchema): more can never be collected
 * (the spec signs a grant with this many, so the two cannot drift apart unnoticed).
 */
export const MAX_APPROVERS = 64;

/**
 * How many approvals a request needs, from the active policies' decision on it (made without
 * evidence, as for anyone asking for the first time): the `approvals` of its step-up. The
 * requester never chooses the number; one they send must equal it. A request the policies
 * allow without approvals, deny, or only want a factor for is refused with the reason and what
 * to do instead. Pure, so every case is unit-tested.
 * @throws StepgateError `request/invalid` (400) or `approval/forbidden` (403, a deny)
 */
export function requiredApprovals(
  decision: Decision,
  asked: number | undefined,
  what: RequestedAction,
): number {
  const target = `"${what.action}" on ${what.resource.kind} "${what.resource.id}" for "${what.subject}"`;
  const reasons = decision.reasons.map((reason) => ({
    policy: reason.policy,
    rule: reason.rule,
    effect: reason.effect,
  }));
  if (decision.effect === 'deny')
    throw new StepgateError(
      'approval/forbidden',
      `the active policies deny ${target} (${describe(decision.reasons)}); approvals cannot lift a deny`,
      { why: 'denied', reasons },
    );
  if (decision.effect === 'allow')
    throw new StepgateError(
      'request/invalid',
      `the active policies allow ${target} without approvals; there is nothing to approve`,
      { why: 'not_required', reasons },
    );
  const require = decision.require ?? {};
  const required = require.approvals;
  if (required === undefined || required < 1) {
    const parts = [
      require.level !== undefined ? `level ${require.level}` : undefined,
      require.maxAge !== undefined ? `authentication within ${require.maxAge} s` : undefined,
    ].filter((part) => part !== undefined);
    throw new StepgateError(
      'request/invalid',
      `the active policies want a step-up for ${target} (${parts.join(', ')}), not approvals: elevate instead (stepgate elevate)`,
      { why: 'no_approvals_required', require, reasons },
    );
  }
  if (required > MAX_APPROVERS)
    throw new StepgateError(
      'request/invalid',
      `the active policies require ${required} approvals for ${target}; a grant holds at most ${MAX_APPROVERS} approvers`,
      { why: 'too_many_approvals', required },
    );
  if (asked !== undefined && asked !== required)
    throw new StepgateError(
      'request/invalid',
      `invalid request body: approvals: the active policies require ${required} approval${required === 1 ? '' : 's'} for ${target}, not ${asked}; leave "approvals" out (the number comes from the policies)`,
      { why: 'approvals_mismatch', required, path: 'approvals' },
    );
  return required;
}

function describe(reasons: readonly Reason[]): string {
  return reasons
    .map(
      (reason) => `${reason.policy}/${reason.rule}${reason.message ? `: ${reason.message}` : ''}`,
    )
    .join('; ');
}
