import {
  parsePolicySet,
  PolicyEngine,
  PolicySetError,
  type CompiledPolicySet,
} from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';

/** The compiler's limit on one condition (packages/policy compile/condition.ts). */
const MAX_CONDITION_LENGTH = 10_000;
/** Rules across all policies: a folder written by people stays far below. */
export const MAX_LOCAL_RULES = 5_000;

/**
 * Checks a policy set a caller compiled (POST /v1/replays) as the control plane reads a stored
 * one, plus the bounds the compiler would have applied to its source: a set that parses here
 * is one the replay job can evaluate. The request body limit (1 MiB) bounds its size; the CEL
 * cost meter bounds each decision's evaluation. Throws a 400 request/invalid naming the problem.
 */
export function checkLocalPolicySet(input: unknown): CompiledPolicySet {
  try {
    const policySet = parsePolicySet(input);
    let rules = 0;
    for (const policy of policySet.policies)
      for (const rule of policy.rules) {
        rules += 1;
        if (rule.when !== undefined && rule.when.length > MAX_CONDITION_LENGTH)
          throw new PolicySetError(
            'policy_set/invalid',
            `${policy.name}/${rule.name}: condition is ${rule.when.length} characters, more than ${MAX_CONDITION_LENGTH}`,
          );
      }
    if (rules > MAX_LOCAL_RULES)
      throw new PolicySetError(
        'policy_set/invalid',
        `policy set has ${rules} rules, more than ${MAX_LOCAL_RULES}`,
      );
    // Every condition parses (whatever agents a policy selects): the engine prepares them all.
    new PolicyEngine({
      ...policySet,
      policies: policySet.policies.map(({ agents: _agents, ...policy }) => policy),
    });
    return policySet;
  } catch (error) {
    if (!(error instanceof PolicySetError)) throw error;
    throw new StepgateError(
      'request/invalid',
      `policySet: ${error.message}; send the policySet of a successful compile (stepgate replay <dir> does)`,
    );
  }
}
