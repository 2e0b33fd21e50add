import { compile, type CompiledPolicySet } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { checkLocalPolicySet, MAX_LOCAL_RULES } from './local-policy-set.js';

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: docs
agents: { region: eu }
target: { actions: ["docs:read"] }
rules:
  - name: read
    effect: allow
    when: resource.id.startsWith("public/")
`;

function policySet(): CompiledPolicySet {
  const result = compile([{ path: 'docs.yaml', content: POLICY }]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return structuredClone(result.policySet);
}

function refusal(input: unknown): StepgateError {
  try {
    checkLocalPolicySet(input);
  } catch (error) {
    if (error instanceof StepgateError) return error;
    throw error;
  }
  throw new Error('the policy set was accepted');
}

describe('checkLocalPolicySet', () => {
  it('accepts the policySet of a compile', () => {
    expect(checkLocalPolicySet(policySet()).policies.map((p) => p.name)).toEqual(['docs']);
  });

  it('names the path of a schema problem', () => {
    const set = policySet() as unknown as { policies: { rules: { effect: string }[] }[] };
    set.policies[0]!.rules[0]!.effect = 'maybe';
    const error = refusal(set);
    expect(error.code).toBe('request/invalid');
    expect(error.message).toContain(
      'policySet: policy set is invalid at policies.0.rules.0.effect',
    );
  });

  it('refuses a condition that does not parse, even in a policy selecting some agents only', () => {
    const set = policySet();
    set.policies[0]!.rules[0]!.when = 'resource.id.startsWith(';
    expect(refusal(set).message).toContain('docs/read: condition does not parse');
  });

  it('refuses a condition longer than the compiler allows', () => {
    const set = policySet();
    set.policies[0]!.rules[0]!.when = `true${' && true'.repeat(1300)}`;
    expect(refusal(set).message).toContain('docs/read: condition is 10404 characters');
  });

  it(`refuses more than ${MAX_LOCAL_RULES} rules`, () => {
    const set = policySet();
    const rule = set.policies[0]!.rules[0]!;
    set.policies[0]!.rules = Array.from({ length: MAX_LOCAL_RULES + 1 }, (_, i) => ({
      ...rule,
      name: `r${i}`,
    }));
    expect(refusal(set).message).toContain(`more than ${MAX_LOCAL_RULES}`);
  });
});
