import { PolicyEngine, POLICY_SET_FORMAT, type CompiledPolicySet } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { bestDecision } from './best-decision.js';

const policySet: CompiledPolicySet = {
  format: POLICY_SET_FORMAT,
  settings: {
    defaultEffect: 'deny',
    onError: 'deny',
    levels: [
      { name: 'pwd', acr: [], amr: ['pwd'] },
      { name: 'mfa', acr: [], amr: ['otp'] },
    ],
    issuers: [],
    mask: [],
  },
  policies: [
    {
      name: 'p',
      file: 'p.yaml',
      target: { actions: ['deploy'] },
      rules: [
        { name: 'mfa', effect: 'step_up', mode: 'enforce', require: { level: 'mfa', maxAge: 600 } },
        { name: 'approval', effect: 'step_up', mode: 'enforce', require: { approvals: 1 } },
        { name: 'all', effect: 'allow', mode: 'enforce' },
      ],
    },
  ],
  data: {},
};
const engine = new PolicyEngine(policySet, { revision: 7 });
const now = new Date('2026-11-23T10:00:00Z');
const request = {
  principal: { id: 'alice' },
  action: 'deploy',
  resource: { kind: 'env', id: 'prod' },
};

describe('bestDecision', () => {
  it('decides without evidence when there are no grants', () => {
    expect(bestDecision(engine, request, [], now)).toMatchObject({
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 600, approvals: 1 },
    });
  });

  it('pools approvals across grants so an elevation and an approval together allow', () => {
    const decision = bestDecision(
      engine,
      request,
      [
        { amr: ['otp'], authTime: '2026-11-23T09:58:00Z' },
        { approvals: ['bob'], authTime: '2026-11-23T09:00:00Z' },
      ],
      now,
    );
    expect(decision.effect).toBe('allow');
    expect(decision.revision).toBe(7);
  });

  it('keeps the step-up with the smallest gap', () => {
    const decision = bestDecision(
      engine,
      request,
      [
        { amr: ['pwd'], authTime: '2026-11-23T09:58:00Z' },
        { amr: ['otp'], authTime: '2026-11-23T09:58:00Z' },
      ],
      now,
    );
    expect(decision.require).toEqual({ approvals: 1 });
  });

  it('never counts the requester as their own approver', () => {
    const decision = bestDecision(
      engine,
      request,
      [{ amr: ['otp'], authTime: '2026-11-23T09:58:00Z', approvals: ['alice'] }],
      now,
    );
    expect(decision.require).toEqual({ approvals: 1 });
  });

  it('answers deny when any grant makes a policy deny, as the agent does', () => {
    const guarded = new PolicyEngine(
      {
        ...policySet,
        policies: [
          {
            name: 'q',
            file: 'q.yaml',
            target: { actions: ['deploy'] },
            rules: [
              // A policy that refuses a weak factor outright instead of asking for more.
              { name: 'no-pwd', effect: 'deny', mode: 'enforce', when: 'auth.level == "pwd"' },
              { name: 'mfa', effect: 'step_up', mode: 'enforce', require: { level: 'mfa' } },
              { name: 'all', effect: 'allow', mode: 'enforce' },
            ],
          },
        ],
      },
      { revision: 8 },
    );
    const decision = bestDecision(
      guarded,
      request,
      [
        { amr: ['pwd'], authTime: '2026-11-23T09:58:00Z' },
        { amr: ['otp'], authTime: '2026-11-23T09:58:00Z' },
      ],
      now,
    );
    expect(decision.effect).toBe('deny');
    expect(decision.reasons.map((reason) => reason.rule)).toContain('no-pwd');
  });
});
