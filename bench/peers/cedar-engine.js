// Cedar in-process (@cedar-policy/cedar-wasm 4.x): the policy set is parsed once into the wasm
// module's cache (`preparsePolicySet`) and every decision goes through `statefulIsAuthorized`,
// which takes the request, its context and its entities (the principal with its roles and
// groups as parents, the resource with its service as parent) as JSON values.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { cedarPolicies } from './policy-set.js';
import { toCedar } from './requests.js';

const POLICY_SET_ID = 'stepgate-peers';
const EMPTY_SET_ID = 'stepgate-peers-empty';

const describe = (errors) =>
  errors.map((e) => e.message + (e.help ? ` (${e.help})` : '')).join('; ');

export function cedarEngine() {
  const policies = cedarPolicies();
  const parsed = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: policies });
  if (parsed.type !== 'success')
    throw new Error(`the Cedar policy set does not parse: ${describe(parsed.errors)}`);
  // The same calls against no policy at all: Cedar's fixed cost per call (crossing into wasm,
  // building the entity store), to tell it apart from evaluating the 200 policies.
  const empty = cedar.preparsePolicySet(EMPTY_SET_ID, { staticPolicies: {} });
  if (empty.type !== 'success')
    throw new Error(`Cedar refused an empty policy set: ${describe(empty.errors)}`);
  return {
    version: cedar.getCedarVersion(),
    policies: Object.keys(policies).length,
    /** The call object, built outside the measured loop (as Stepgate's requests are). */
    prepare: (shared) => ({ ...toCedar(shared), preparsedPolicySetId: POLICY_SET_ID }),
    /** The raw answer of `statefulIsAuthorized` for a prepared call. */
    authorize: (call) => cedar.statefulIsAuthorized(call),
    /** A prepared call, against the empty policy set instead. */
    againstNoPolicies: (call) => ({ ...call, preparsedPolicySetId: EMPTY_SET_ID }),
    /** 'allow' | 'deny'; throws when Cedar fails the call or a policy errored while evaluating. */
    decide(call) {
      const answer = cedar.statefulIsAuthorized(call);
      if (answer.type !== 'success')
        throw new Error(`Cedar refused the call: ${describe(answer.errors)}`);
      const { decision, diagnostics } = answer.response;
      if (diagnostics.errors.length > 0)
        throw new Error(
          `Cedar policy errors: ${diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`,
        );
      return { decision, reasons: diagnostics.reason };
    },
  };
}
