import { describe, expect, it } from 'vitest';
import type { AgentDecision } from '@stepgate/agent-core';
import { evaluateBatch, parseEvaluation, parseEvaluations, toAuthzenDecision } from './authzen.js';
import { StepgateError } from '@stepgate/protocol';

const LEVELS = [{ name: 'mfa', acr: ['urn:mfa'], amr: [] }];

const base = {
  subject: {
    type: 'user',
    id: 'alice',
    properties: { roles: ['dev'], groups: ['eng'], email: 'a@x', level: 3 },
  },
  action: { name: 'deploy' },
  resource: { type: 'environment', id: 'prod/billing', properties: { tier: 1 } },
  context: { ip: '10.0.0.1' },
};

function decision(
  effect: AgentDecision['effect'],
  extra: Partial<AgentDecision> = {},
): AgentDecision {
  return { effect, reasons: [], revision: 3, decisionId: 'd1', durationNs: 1, ...extra };
}

describe('AuthZEN mapping', () => {
  it('refuses a field past its size limit, named as AuthZEN names it', () => {
    const refused = (body: unknown) => {
      try {
        parseEvaluation(body);
      } catch (error) {
        return error instanceof StepgateError ? [error.message, error.details] : error;
      }
      return 'accepted';
    };
    expect(refused({ ...base, subject: { type: 'user', id: 's'.repeat(1025) } })).toEqual([
      'subject.id is 1025 characters long; the limit is 1024',
      { field: 'subject.id', limit: 1024 },
    ]);
    expect(refused({ ...base, action: { name: 'a'.repeat(513) } })).toEqual([
      'action.name is 513 characters long; the limit is 512',
      { field: 'action.name', limit: 512 },
    ]);
    expect(
      refused({
        ...base,
        subject: { type: 'user', id: 'alice', properties: { groups: Array(1025).fill('g') } },
      }),
    ).toEqual([
      'subject.properties.groups has 1025 entries; the limit is 1024',
      { field: 'subject.properties.groups', limit: 1024 },
    ]);
    expect(
      refused({
        ...base,
        resource: { type: 'doc', id: '1', properties: { x: 'y'.repeat(70_000) } },
      }),
    ).toMatchObject([
      expect.stringMatching(/^resource\.properties is larger than the limit of 65536/),
      { field: 'resource.properties', limit: 65_536 },
    ]);
    const batch = parseEvaluations({
      ...base,
      evaluations: [{ resource: { type: 'doc', id: 'r'.repeat(4097) } }, {}],
    });
    expect(batch.items[0]).toBeInstanceOf(StepgateError);
    expect((batch.items[0] as Error).message).toBe(
      'evaluations[0]: resource.id is 4097 characters long; the limit is 4096',
    );
    expect(batch.items[1]).not.toBeInstanceOf(StepgateError);
  });

  it('maps subject/action/resource/context to the language input', () => {
    expect(parseEvaluation(base)).toEqual({
      principal: {
        id: 'alice',
        roles: ['dev'],
        groups: ['eng'],
        attributes: { email: 'a@x', level: 3 },
      },
      action: 'deploy',
      resource: { kind: 'environment', id: 'prod/billing', attributes: { tier: 1 } },
      context: { ip: '10.0.0.1' },
    });
  });

  it.each([
    [{ ...base, extra: 1 }, /unknown field "extra"/],
    [{ ...base, subject: { id: 'alice' } }, /subject.type/],
    [{ ...base, subject: { type: 'user', id: 'a', name: 'x' } }, /unknown field "subject.name"/],
    [
      { ...base, subject: { type: 'user', id: 'a', properties: { roles: 'x' } } },
      /subject.properties.roles/,
    ],
    [{ ...base, action: { name: 'x', properties: { y: 1 } } }, /action.properties/],
    [{ ...base, action: 'deploy' }, /action must be an object/],
    [{ ...base, resource: { type: 'x', id: 7 } }, /resource.id/],
    [{ ...base, context: [] }, /context must be an object/],
  ])('refuses a malformed evaluation (%#)', (body, message) => {
    expect(() => parseEvaluation(body)).toThrow(message);
  });

  it('puts the step-up requirement in the context', () => {
    const result = toAuthzenDecision(
      decision('step_up', {
        require: { level: 'mfa', maxAge: 300, approvals: 1 },
        reasons: [{ policy: 'p', rule: 'r', effect: 'step_up', message: 'Need MFA.' }],
      }),
      LEVELS,
    );
    expect(result).toEqual({
      decision: false,
      context: {
        id: 'd1',
        effect: 'step_up',
        revision: 3,
        reason_admin: { en: 'p/r: Need MFA.' },
        reason_user: { en: 'Need MFA.' },
        step_up: { level: 'mfa', acr_values: 'urn:mfa', max_age: 300, approvals: 1 },
      },
    });
  });

  it('says why on deny and in fail mode', () => {
    expect(
      toAuthzenDecision(
        decision('deny', {
          failReason: 'no_bundle',
          reasons: [
            {
              policy: '(agent)',
              rule: 'fail_closed/no_bundle',
              effect: 'deny',
              message: 'No bundle.',
            },
          ],
        }),
        LEVELS,
      ).context,
    ).toMatchObject({ fail_reason: 'no_bundle', reason_user: { en: 'No bundle.' } });
  });
});

describe('AuthZEN evaluations', () => {
  const decide = (request: { resource: { id: string } }) =>
    decision(request.resource.id.startsWith('ok') ? 'allow' : 'deny');

  it('applies top-level defaults that an item replaces whole', () => {
    const batch = parseEvaluations({
      ...base,
      evaluations: [
        {},
        { resource: { type: 'doc', id: 'ok-1' } },
        { subject: { type: 'svc', id: 'bot' } },
      ],
    });
    const [first, second, third] = batch.items as Exclude<
      (typeof batch.items)[number],
      StepgateError
    >[];
    expect(first?.resource).toEqual({
      kind: 'environment',
      id: 'prod/billing',
      attributes: { tier: 1 },
    });
    expect(second?.resource).toEqual({ kind: 'doc', id: 'ok-1' });
    expect(third?.principal).toEqual({ id: 'bot' });
    expect(batch).toMatchObject({ semantic: 'execute_all', single: false });
  });

  it('stops where the semantic says', () => {
    const body = (semantic: string) => ({
      ...base,
      options: { evaluations_semantic: semantic },
      evaluations: [
        { resource: { type: 'd', id: 'ok-1' } },
        { resource: { type: 'd', id: 'no-2' } },
        { resource: { type: 'd', id: 'ok-3' } },
      ],
    });
    const decisions = (semantic: string) =>
      evaluateBatch(parseEvaluations(body(semantic)), decide, () => LEVELS).map((r) => r.decision);
    expect(decisions('execute_all')).toEqual([true, false, true]);
    expect(decisions('deny_on_first_deny')).toEqual([true, false]);
    expect(decisions('permit_on_first_permit')).toEqual([true]);
  });

  it('answers an invalid item in place and refuses an invalid envelope', () => {
    const batch = parseEvaluations({ ...base, evaluations: [{ resource: { type: 'd' } }, 7] });
    expect(evaluateBatch(batch, decide, () => LEVELS)).toEqual([
      {
        decision: false,
        context: {
          error: { status: 400, message: 'evaluations[0]: resource.id must be a string' },
        },
      },
      {
        decision: false,
        context: {
          error: { status: 400, message: 'evaluations[1]: an evaluation must be an object' },
        },
      },
    ]);
    expect(() => parseEvaluations({ evaluations: new Array(1001).fill({}) })).toThrow(
      /at most 1000/,
    );
    expect(() => parseEvaluations({ ...base, options: [] })).toThrow(/options/);
    expect(parseEvaluations({ ...base, evaluations: [] }).single).toBe(true);
  });
});
