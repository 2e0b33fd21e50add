import { describe, expect, it } from 'vitest';
import { isDue, refusalFor, toApprovalView, type RequestState } from './approval-rules.js';

const now = new Date('2026-11-23T10:00:00.000Z');
const later = new Date(now.getTime() + 3600_000);
const pending: RequestState = {
  requester: 'alice',
  status: 'pending',
  expiresAt: later,
  approvals: [{ approver: 'bob' }],
};
const approver = (subject: string) => ({ subject, isApprover: true });

describe('refusalFor', () => {
  it('lets a distinct approver approve or deny a pending request', () => {
    expect(refusalFor(pending, approver('carol'), 'approve', now)).toBeUndefined();
    expect(refusalFor(pending, approver('carol'), 'deny', now)).toBeUndefined();
    // Having approved does not stop someone from denying later.
    expect(refusalFor(pending, approver('bob'), 'deny', now)).toBeUndefined();
  });

  it('refuses a caller without the approver scope first', () => {
    expect(
      refusalFor(pending, { subject: 'carol', isApprover: false }, 'approve', now),
    ).toMatchObject({ code: 'approval/forbidden', why: 'not_approver' });
  });

  it('never lets the requester approve or deny their own request', () => {
    for (const act of ['approve', 'deny'] as const)
      expect(refusalFor(pending, approver('alice'), act, now)).toMatchObject({
        code: 'approval/forbidden',
        why: 'own_request',
      });
  });

  it('refuses the same approver twice', () => {
    expect(refusalFor(pending, approver('bob'), 'approve', now)).toMatchObject({
      code: 'approval/conflict',
      why: 'already_approved',
    });
  });

  it('compares subjects without case: Bob is bob, ALICE is the requester', () => {
    for (const same of ['Bob', 'BOB', 'ｂｏｂ']) {
      const refusal = refusalFor(pending, approver(same), 'approve', now);
      expect(refusal, same).toMatchObject({ code: 'approval/conflict', why: 'already_approved' });
      expect(refusal?.message).toContain('compared without case');
    }
    for (const act of ['approve', 'deny'] as const)
      expect(refusalFor(pending, approver('ALICE'), act, now)).toMatchObject({
        why: 'own_request',
      });
    expect(refusalFor(pending, approver('Carol'), 'approve', now)).toBeUndefined();
  });

  it('refuses acting on a request past its expiry and asks to mark it expired', () => {
    const refusal = refusalFor(pending, approver('carol'), 'approve', later);
    expect(refusal).toMatchObject({ code: 'approval/closed', why: 'expired', expire: true });
    expect(isDue(pending, later)).toBe(true);
    expect(isDue(pending, now)).toBe(false);
  });

  it('refuses acting on a closed request without re-expiring it', () => {
    for (const status of ['approved', 'denied', 'expired'] as const) {
      const refusal = refusalFor({ ...pending, status }, approver('carol'), 'approve', now);
      expect(refusal).toMatchObject({ code: 'approval/closed' });
      expect(refusal?.expire).toBeUndefined();
      expect(isDue({ ...pending, status }, later)).toBe(false);
    }
  });
});

describe('toApprovalView', () => {
  it('lists approvals oldest first and names the grant', () => {
    const view = toApprovalView({
      id: 'r1',
      requester: 'alice',
      action: 'deploy',
      resourceKind: 'environment',
      resourceId: 'prod/billing',
      reason: 'hotfix',
      required: 2,
      status: 'approved',
      createdAt: now,
      expiresAt: later,
      closedAt: later,
      deniedBy: null,
      denialComment: null,
      approvals: [
        { approver: 'carol', at: new Date(now.getTime() + 2000), comment: null },
        { approver: 'bob', at: new Date(now.getTime() + 1000), comment: 'ok' },
      ],
      grant: { id: 'g1' },
    });
    expect(view.approvals.map((a) => a.approver)).toEqual(['bob', 'carol']);
    expect(view).toMatchObject({
      resource: { kind: 'environment', id: 'prod/billing' },
      grantId: 'g1',
      closedAt: later.toISOString(),
    });
  });
});
