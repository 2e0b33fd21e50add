// Stepgate in-process: the shared policy set compiled once, decisions from the PolicyEngine.
import { compile, PolicyEngine } from '@stepgate/policy';
import { stepgateFiles } from './policy-set.js';

/** Compiles the shared set; throws with every compile error when it does not compile. */
export function stepgateEngine() {
  const result = compile(stepgateFiles());
  if (!result.ok)
    throw new Error(
      `the Stepgate policy set does not compile:\n${result.errors.map((e) => `${e.file}: ${e.message}`).join('\n')}`,
    );
  const engine = new PolicyEngine(result.policySet);
  return {
    policySet: result.policySet,
    policies: result.policySet.policies.length,
    rules: result.policySet.policies.reduce((n, p) => n + p.rules.length, 0),
    /** The full decision (`errors` lists rules whose condition failed at run time). */
    decide: ({ request, now }) => engine.decide(request, undefined, { now }),
  };
}
