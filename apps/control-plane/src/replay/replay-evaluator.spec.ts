import { compile, type CompiledPolicySet } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { ReplayEvaluator, type ReplayRow } from './replay-evaluator.js';

const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
onError: deny
levels:
  - name: pwd
    acr: ["urn:stepgate:pwd"]
  - name: mfa
    acr: ["urn:stepgate:mfa"]
    amr: ["otp"]
liveData:
  blocked:
    schema: blocked.json
    default: []
signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
`;

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["docs:read"] }
rules:
  - name: read
    effect: allow
  - name: blocked
    effect: deny
    when: principal.id in data.blocked
  - name: failed-logins
    effect: step_up
    when: signals.failed_logins >= 3
    require: { level: mfa, maxAge: 300 }
  - name: fresh
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa, maxAge: 300 }
`;

const EU_ONLY = `apiVersion: stepgate/v1
kind: Policy
name: eu
target: { actions: ["docs:read"] }
agents: { region: eu }
rules:
  - name: eu-deny
    effect: deny
`;

function policySet(): CompiledPolicySet {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'blocked.json', content: JSON.stringify({ type: 'array', items: { type: 'string' } }) },
    { path: 'docs.yaml', content: POLICY },
    { path: 'eu.yaml', content: EU_ONLY },
  ]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policySet;
}

const AT = new Date('2026-12-02T10:00:00.000Z');

function row(overrides: Partial<ReplayRow> = {}, resourceId = 'public/a'): ReplayRow {
  return {
    id: 'd1',
    at: AT,
    agentId: 'a1',
    effect: 'allow',
    failReason: null,
    principal: 'bob',
    action: 'docs:read',
    resourceKind: 'doc',
    resourceId,
    require: null,
    reasons: [],
    input: {
      principal: { id: 'bob' },
      action: 'docs:read',
      resource: { kind: 'doc', id: resourceId },
    },
    dataRevision: null,
    signals: null,
    replay: { version: 1 },
    ...overrides,
  };
}

const effect = (outcome: ReturnType<ReplayEvaluator['evaluate']>) =>
  outcome.replayed ? outcome.decision.effect : outcome.reason;

describe('ReplayEvaluator', () => {
  const evaluator = new ReplayEvaluator(policySet());

  it('decides with the recorded evidence, judged against the recorded time as now', () => {
    const secret = (authTime: string) =>
      row({ replay: { version: 1, evidence: { level: 'mfa', authTime } } }, 'secret/x');
    expect(effect(evaluator.evaluate(secret('2026-12-02T09:58:00.000Z'), {}, undefined))).toBe(
      'allow',
    );
    // Ten minutes before the record: past maxAge at the record's time, whatever the clock says.
    expect(effect(evaluator.evaluate(secret('2026-12-02T09:50:00.000Z'), {}, undefined))).toBe(
      'step_up',
    );
    expect(effect(evaluator.evaluate(row({}, 'secret/x'), {}, undefined))).toBe('step_up');
  });

  it('reads the live data given for the record and its recorded signal values', () => {
    const live = { revision: 4, documents: { blocked: ['bob'] } };
    expect(effect(evaluator.evaluate(row({ dataRevision: 4 }), {}, live))).toBe('deny');
    expect(effect(evaluator.evaluate(row(), {}, undefined))).toBe('allow');
    expect(effect(evaluator.evaluate(row({ signals: { failed_logins: 5 } }), {}, undefined))).toBe(
      'step_up',
    );
  });

  it("applies the policies the recording agent's labels select", () => {
    expect(effect(evaluator.evaluate(row(), { region: 'eu' }, undefined))).toBe('deny');
    expect(effect(evaluator.evaluate(row(), { region: 'us' }, undefined))).toBe('allow');
  });

  it("keeps each agent's policies apart when the records of several agents interleave", () => {
    const eu = { region: 'eu' };
    const us = { region: 'us' };
    // Another agent with the same labels: the same policies apply.
    const euToo = { region: 'eu' };
    const effects = [eu, us, euToo, us, eu, {}].map((labels) =>
      effect(evaluator.evaluate(row(), labels, undefined)),
    );
    expect(effects).toEqual(['deny', 'allow', 'deny', 'allow', 'deny', 'allow']);
  });

  it('does not replay a record from before, a fail-mode answer or a masked field a rule reads', () => {
    expect(effect(evaluator.evaluate(row({ replay: null }), {}, undefined))).toBe(
      'recorded_before_replay',
    );
    expect(effect(evaluator.evaluate(row({ failReason: 'no_bundle' }), {}, undefined))).toBe(
      'fail_mode',
    );
    expect(
      evaluator.evaluate(row({ replay: { version: 1, masked: ['principal.id'] } }), {}, undefined),
    ).toEqual({ replayed: false, reason: 'masked_input_read', masked: ['principal.id'] });
    // A masked field no rule reads does not stand in the way.
    expect(
      effect(
        evaluator.evaluate(row({ replay: { version: 1, masked: ['context.ip'] } }), {}, undefined),
      ),
    ).toBe('allow');
  });
});
