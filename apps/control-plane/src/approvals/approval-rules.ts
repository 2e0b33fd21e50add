import { approverKey } from '@stepgate/policy';
import type { ApprovalView } from '@stepgate/protocol';

/**
 * Who may approve or deny what, as a pure function of the request and the caller, so every
 * rule is unit-tested without a database and the service only applies the verdict.
 */

export type ApprovalAct = 'approve' | 'deny';

export interface RequestState {
  requester: string;
  status: ApprovalView['status'];
  expiresAt: Date;
  approvals: { approver: string }[];
}

export interface Caller {
  subject: string;
  /** Holds the approver scope (admin holds every scope). */
  isApprover: boolean;
}

export interface Refusal {
  code: 'approval/forbidden' | 'approval/conflict' | 'approval/closed';
  /** Short machine-readable reason, kept in the `approval.refused` audit row. */
  why: 'not_approver' | 'own_request' | 'already_approved' | 'expired' | 'closed';
  message: string;
  /** The request is still pending but past its expiry: the caller marks it expired. */
  expire?: boolean;
}

/** Whether a pending request's time is up at `now`. */
export function isDue(state: Pick<RequestState, 'status' | 'expiresAt'>, now: Date): boolean {
  return state.status === 'pending' && state.expiresAt.getTime() <= now.getTime();
}

/**
 * The refusal for this act, or undefined when it may go ahead. Subjects are compared as agents
 * count approvers (approverKey: case and compatibility forms folded), so `Bob` cannot approve
 * what `bob` approved, nor `ALICE` what alice requested.
 */
export function refusalFor(
  state: RequestState,
  caller: Caller,
  act: ApprovalAct,
  now: Date,
): Refusal | undefined {
  if (!caller.isApprover)
    return {
      code: 'approval/forbidden',
      why: 'not_approver',
      message: `to ${act} a request the token needs the approver (or admin) scope`,
    };
  if (isDue(state, now))
    return {
      code: 'approval/closed',
      why: 'expired',
      message: `the request expired at ${state.expiresAt.toISOString()}; ask for a new one`,
      expire: true,
    };
  if (state.status !== 'pending')
    return {
      code: 'approval/closed',
      why: state.status === 'expired' ? 'expired' : 'closed',
      message: `the request is already ${state.status}; nothing more can be decided on it`,
    };
  const callerKey = approverKey(caller.subject);
  if (callerKey === approverKey(state.requester))
    return {
      code: 'approval/forbidden',
      why: 'own_request',
      message: `"${caller.subject}" requested this; a requester never ${act === 'approve' ? 'approves' : 'denies'} their own request`,
    };
  const earlier = state.approvals.find((a) => approverKey(a.approver) === callerKey);
  if (act === 'approve' && earlier)
    return {
      code: 'approval/conflict',
      why: 'already_approved',
      message:
        earlier.approver === caller.subject
          ? `"${caller.subject}" already approved this request; another approver must approve it`
          : `"${earlier.approver}" already approved this request, and "${caller.subject}" is the same subject (subjects are compared without case); another approver must approve it`,
    };
  return undefined;
}

/** The columns of a stored request (with its approvals) this module reads. */
export interface ApprovalRequestRow {
  id: string;
  requester: string;
  action: string;
  resourceKind: string;
  resourceId: string;
  reason: string;
  required: number;
  status: ApprovalView['status'];
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
  deniedBy: string | null;
  denialComment: string | null;
  approvals: { approver: string; at: Date; comment: string | null }[];
  grant: { id: string } | null;
}

export function toApprovalView(row: ApprovalRequestRow): ApprovalView {
  return {
    id: row.id,
    requester: row.requester,
    action: row.action,
    resource: { kind: row.resourceKind, id: row.resourceId },
    reason: row.reason,
    required: row.required,
    status: row.status,
    approvals: [...row.approvals]
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((a) => ({ approver: a.approver, at: a.at.toISOString(), comment: a.comment })),
    deniedBy: row.deniedBy,
    denialComment: row.denialComment,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    closedAt: row.closedAt ? row.closedAt.toISOString() : null,
    grantId: row.grant?.id ?? null,
  };
}
