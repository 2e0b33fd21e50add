import type { CheckResponse } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import type { PipelineGate } from '../../pipeline-gates/pipeline-gate.js';
import { GITHUB_COMMENT_LIMIT, outcomeComment, pendingComment } from './deployment-comments.js';

const gate: PipelineGate = {
  id: 'g1',
  kind: 'github',
  principal: 'alice',
  input: {
    principal: { id: 'alice' },
    action: 'deploy',
    resource: {
      kind: 'environment',
      id: 'production/billing',
      attributes: { repository: 'acme/billing', environment: 'production' },
    },
  },
  target: {},
  secrets: {},
  status: 'pending',
  decision: null,
  approvalRequestId: '0b6e51d2-0000-4000-8000-000000000001',
  expiresAt: new Date('2026-12-03T12:00:00Z'),
  createdAt: new Date('2026-12-03T11:00:00Z'),
  resolvedAt: null,
};

function stepUp(unmet: ('level' | 'maxAge' | 'approvals')[]): CheckResponse {
  return {
    decision: {
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 900, approvals: 1 },
      unmet,
      reasons: [
        {
          policy: 'production-deploys',
          rule: 'fresh-mfa-and-approval',
          effect: 'step_up',
          message: 'Production deploys need MFA and an approval.',
        },
      ],
      revision: 7,
      decisionId: 'd1',
      durationNs: 1,
    },
    levels: ['pwd', 'mfa'],
  };
}

describe('GitHub comments', () => {
  it('tells the actor to elevate and whom to ask, with the console link', () => {
    const text = pendingComment(
      gate,
      stepUp(['level', 'maxAge', 'approvals']),
      'https://sg.example',
    );
    expect(text).toContain('Deploy of acme/billing to production by @alice');
    expect(text).toContain('level mfa, authenticated within 15m, 1 approval');
    expect(text).toContain(
      'production-deploys/fresh-mfa-and-approval: Production deploys need MFA',
    );
    expect(text).toContain('`npx stepgate elevate --action deploy --resource production/billing`');
    expect(text).toContain('1 approver other than @alice');
    expect(text).toContain('https://sg.example/console/approvals');
    expect(text).toContain(`npx stepgate approve ${gate.approvalRequestId}`);
    expect(text).toContain('rejected at 2026-12-03T12:00:00.000Z');
  });

  it('once elevated, asks only for the approval', () => {
    const text = pendingComment(gate, stepUp(['approvals']), 'https://sg.example');
    expect(text).not.toContain('npx stepgate elevate');
    expect(text).toContain('npx stepgate approve');
  });

  it('without an approval request, says how to open one', () => {
    const text = pendingComment(
      { ...gate, approvalRequestId: null },
      stepUp(['approvals']),
      'https://sg.example',
    );
    expect(text).toContain(
      "npx stepgate request --action deploy --resource production/billing --reason '<why>'",
    );
  });

  it('explains an approval, a rejection and an expiry', () => {
    const allow: CheckResponse = {
      ...stepUp([]),
      decision: {
        ...stepUp([]).decision,
        effect: 'allow',
        reasons: [{ policy: 'production-deploys', rule: 'deployers', effect: 'allow' }],
      },
    };
    expect(outcomeComment(gate, { effect: 'allow', decision: allow })).toBe(
      '**Stepgate: approved.** Deploy of acme/billing to production by @alice is allowed by production-deploys/deployers (decision d1, policy revision 7).',
    );
    const defaultDeny: CheckResponse = {
      ...allow,
      decision: {
        ...allow.decision,
        effect: 'deny',
        reasons: [{ policy: '(default)', rule: 'defaultEffect', effect: 'deny' }],
      },
    };
    expect(outcomeComment(gate, { effect: 'deny', decision: defaultDeny })).toContain(
      'is refused: no policy allows it (the default is deny)',
    );
    expect(
      outcomeComment(gate, {
        effect: 'deny',
        decision: stepUp(['approvals']),
        reason: 'denied by bob',
      }),
    ).toContain('is refused: denied by bob');
    expect(outcomeComment(gate, { effect: 'expired', decision: stepUp(['approvals']) })).toContain(
      'not met in time',
    );
  });

  it('never exceeds what GitHub keeps', () => {
    const long = stepUp(['level']);
    long.decision.reasons[0]!.message = 'x'.repeat(1500);
    expect(pendingComment(gate, long, 'https://sg.example').length).toBe(GITHUB_COMMENT_LIMIT);
    expect(outcomeComment(gate, { effect: 'deny', decision: long }).length).toBe(
      GITHUB_COMMENT_LIMIT,
    );
  });
});
