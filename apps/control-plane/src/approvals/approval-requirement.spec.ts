import type { Decision } from '@stepgate/policy';
import { GRANT_FORMAT, grantClaimsSchema, StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { MAX_APPROVERS, requiredApprovals } from './approval-requirement.js';

const what = {
  subject: 'alice',
  action: 'deploy',
  resource: { kind: 'environment', id: 'prod/billing' },
};
const decision = (overrides: Partial<Decision>): Decision => ({
  effect: 'step_up',
  reasons: [{ policy: 'deploys', rule: 'two-approvers', effect: 'step_up' }],
  revision: 3,
  decisionId: 'd1',
  durationNs: 0,
  ...overrides,
});

function refusal(run: () => unknown): StepgateError {
  try {
    run();
  } catch (error) {
    if (error instanceof StepgateError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('requiredApprovals', () => {
  it('takes the number from the step-up the policies ask for', () => {
    expect(requiredApprovals(decision({ require: { approvals: 2 } }), undefined, what)).toBe(2);
    expect(
      requiredApprovals(decision({ require: { level: 'mfa', approvals: 1 } }), undefined, what),
    ).toBe(1);
  });

  it('accepts a count the requester sends only when it is that number', () => {
    expect(requiredApprovals(decision({ require: { approvals: 2 } }), 2, what)).toBe(2);
    const error = refusal(() =>
      requiredApprovals(decision({ require: { approvals: 2 } }), 1, what),
    );
    expect(error.code).toBe('request/invalid');
    expect(error.message).toContain('approvals: the active policies require 2 approvals');
    expect(error.message).toContain('not 1');
    expect(error.details).toMatchObject({ why: 'approvals_mismatch', required: 2 });
  });

  it('refuses what the policies allow anyway (400)', () => {
    const error = refusal(() =>
      requiredApprovals(
        decision({ effect: 'allow', reasons: [{ policy: 'p', rule: 'r', effect: 'allow' }] }),
        undefined,
        what,
      ),
    );
    expect(error.code).toBe('request/invalid');
    expect(error.message).toBe(
      'the active policies allow "deploy" on environment "prod/billing" for "alice" without approvals; there is nothing to approve',
    );
  });

  it('refuses what the policies deny (403), naming the rule', () => {
    const error = refusal(() =>
      requiredApprovals(
        decision({
          effect: 'deny',
          reasons: [{ policy: 'freeze', rule: 'weekend', effect: 'deny', message: 'Frozen.' }],
        }),
        undefined,
        what,
      ),
    );
    expect(error.code).toBe('approval/forbidden');
    expect(error.message).toContain('freeze/weekend: Frozen.');
    expect(error.message).toContain('approvals cannot lift a deny');
  });

  it('refuses a step-up that wants a factor, not approvals, saying to elevate', () => {
    const error = refusal(() =>
      requiredApprovals(decision({ require: { level: 'mfa', maxAge: 600 } }), undefined, what),
    );
    expect(error.code).toBe('request/invalid');
    expect(error.message).toContain('level mfa, authentication within 600 s');
    expect(error.message).toContain('stepgate elevate');
  });

  it('refuses more approvers than a grant can hold, the same limit as the grant claims', () => {
    const error = refusal(() =>
      requiredApprovals(decision({ require: { approvals: MAX_APPROVERS + 1 } }), undefined, what),
    );
    expect(error.details).toMatchObject({ why: 'too_many_approvals' });
    const claims = (approvals: number) => ({
      format: GRANT_FORMAT,
      id: '2b0c7c36-4a5e-4f43-9a43-6a1f6a3c1d11',
      subject: 'alice',
      kind: 'approval',
      amr: [],
      authTime: '2026-11-23T10:00:00Z',
      approvals: Array.from({ length: approvals }, (_, i) => `approver-${i}`),
      actions: ['deploy'],
      resources: ['prod/billing'],
      issuedAt: '2026-11-23T10:00:00Z',
      expiresAt: '2026-11-23T10:15:00Z',
    });
    expect(grantClaimsSchema.safeParse(claims(MAX_APPROVERS)).success).toBe(true);
    expect(grantClaimsSchema.safeParse(claims(MAX_APPROVERS + 1)).success).toBe(false);
  });
});
