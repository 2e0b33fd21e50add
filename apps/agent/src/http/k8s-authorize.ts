import {
  isRuleAllow,
  isRuleDeny,
  k8sNonResourceRequest,
  k8sResourceRequest,
  k8sStepUpMessage,
  policyMessage,
  type AgentDecision,
  type K8sUser,
} from '@stepgate/agent-core';
import type { DecisionRequest } from '@stepgate/policy';
import { invalidRequest, isObject } from './decision-input.js';
import {
  checkTypeMeta,
  optionalExtra,
  optionalObjectField,
  optionalString,
  optionalStrings,
  requiredString,
} from './k8s-review-fields.js';

/**
 * `POST /v1/k8s/authorize`: a Kubernetes authorization webhook (SubjectAccessReview), so
 * reads and connections that admission never sees are covered too: `get`/`list`,
 * `kubectl exec` (`create pods/exec`), `kubectl port-forward` (`create pods/portforward`).
 * Since Kubernetes 1.30 kubectl streams over WebSockets, which reach the authorizer as
 * `get pods/exec` (plus `create pods/exec` where AuthorizePodWebsocketUpgradeCreatePermission
 * is on), so policies for shells should target `k8s:{get,create}:pods/{exec,attach,portforward}`.
 * Register it in the API server's AuthorizationConfiguration after Node and before RBAC:
 *
 * ```yaml
 * apiVersion: apiserver.config.k8s.io/v1
 * kind: AuthorizationConfiguration
 * authorizers:
 *   - { type: Node, name: node }
 *   - type: Webhook
 *     name: stepgate
 *     webhook:
 *       timeout: 3s
 *       subjectAccessReviewVersion: v1
 *       matchConditionSubjectAccessReviewVersion: v1
 *       failurePolicy: Deny          # or NoOpinion; see below
 *       authorizedTTL: 10s           # keep short: a step-up must take effect quickly
 *       unauthorizedTTL: 1s
 *       connectionInfo: { type: KubeConfigFile, kubeConfigFile: /etc/kubernetes/stepgate-webhook.kubeconfig }
 *   - { type: RBAC, name: rbac }
 * ```
 *
 * Answers, in Kubernetes' three-valued terms:
 * - a matching `allow` rule -> `allowed: true` (Stepgate grants; RBAC is not consulted);
 * - a matching `deny` rule (or a rule whose condition failed under `onError: deny`) ->
 *   `denied: true`, a hard deny that skips the remaining authorizers;
 * - step-up -> `denied: true`, the reason naming the command that elevates the user;
 * - nothing matched (the default effect, allow or deny) -> no opinion (`allowed: false`
 *   without `denied`), so RBAC decides;
 * - fail mode: closed -> `denied: true`; open -> no opinion (failing open must never grant
 *   what RBAC would refuse). `system:masters` never reaches a webhook, so break-glass
 *   access survives a fail-closed agent.
 * A malformed review gets a 400 JSON error: the API server treats a non-200 answer as a
 * webhook error and applies `failurePolicy` (`Deny` keeps Stepgate fail-closed).
 */

export const ACCESS_REVIEW_VERSIONS = [
  'authorization.k8s.io/v1',
  'authorization.k8s.io/v1beta1',
] as const;
const HINT = 'set subjectAccessReviewVersion: v1 (or v1beta1) for the webhook';

export interface AccessReviewInput {
  /** Echoed in the answer. */
  apiVersion: string;
  request: DecisionRequest;
}

/**
 * Reads a SubjectAccessReview into decision input. Groups are `spec.groups` in v1 and
 * `spec.group` in v1beta1; the other version's spelling is refused rather than ignored, since
 * dropping groups could skip a deny rule written for a group.
 * Context: `context.k8s = {review: "authorization"}`.
 * @throws StepgateError `request/invalid` naming the first malformed field.
 */
export function parseSubjectAccessReview(body: unknown): AccessReviewInput {
  const { apiVersion, body: review } = checkTypeMeta(
    body,
    'SubjectAccessReview',
    ACCESS_REVIEW_VERSIONS,
    HINT,
  );
  const spec = review.spec;
  if (!isObject(spec))
    throw invalidRequest('spec is missing: a SubjectAccessReview to decide carries spec');
  const beta = apiVersion.endsWith('/v1beta1');
  const [groupsField, otherField] = beta ? ['group', 'groups'] : ['groups', 'group'];
  if (spec[otherField] !== undefined)
    throw invalidRequest(
      `spec.${otherField} is not part of ${apiVersion}; groups are spec.${groupsField} in this version`,
    );
  const user: K8sUser = { username: requiredString(spec.user, 'spec.user') };
  const groups = optionalStrings(spec[groupsField], `spec.${groupsField}`);
  if (groups) user.groups = groups;
  const uid = optionalString(spec.uid, 'spec.uid');
  if (uid) user.uid = uid;
  const extra = optionalExtra(spec.extra, 'spec.extra');
  if (extra) user.extra = extra;

  const resource = optionalObjectField(spec.resourceAttributes, 'spec.resourceAttributes');
  const nonResource = optionalObjectField(spec.nonResourceAttributes, 'spec.nonResourceAttributes');
  if ((resource === undefined) === (nonResource === undefined))
    throw invalidRequest(
      'exactly one of spec.resourceAttributes and spec.nonResourceAttributes must be set',
    );
  const context = { k8s: { review: 'authorization' } };
  if (nonResource !== undefined) {
    return {
      apiVersion,
      request: k8sNonResourceRequest(
        user,
        {
          verb: requiredString(nonResource.verb, 'spec.nonResourceAttributes.verb'),
          path: requiredString(nonResource.path, 'spec.nonResourceAttributes.path'),
        },
        context,
      ),
    };
  }
  const attributes = resource as Record<string, unknown>;
  const field = (name: string) =>
    optionalString(attributes[name], `spec.resourceAttributes.${name}`) ?? '';
  return {
    apiVersion,
    request: k8sResourceRequest(
      user,
      {
        verb: requiredString(attributes.verb, 'spec.resourceAttributes.verb'),
        resource: requiredString(attributes.resource, 'spec.resourceAttributes.resource'),
        group: field('group'),
        version: field('version'),
        subresource: field('subresource'),
        namespace: field('namespace'),
        name: field('name'),
      },
      { context },
    ),
  };
}

export interface AccessReviewAnswer {
  apiVersion: string;
  kind: 'SubjectAccessReview';
  status: { allowed: boolean; denied?: boolean; reason: string };
}

/** The SubjectAccessReview answer for a decision (see the module comment for the mapping). */
export function accessReviewAnswer(
  input: AccessReviewInput,
  decision: AgentDecision,
): AccessReviewAnswer {
  const answer = (status: AccessReviewAnswer['status']): AccessReviewAnswer => ({
    apiVersion: input.apiVersion,
    kind: 'SubjectAccessReview',
    status,
  });
  const ref = `(stepgate decision ${decision.decisionId}, revision ${decision.revision})`;
  if (decision.effect === 'step_up') {
    const { request } = input;
    const message = k8sStepUpMessage(
      decision.require ?? {},
      request.action,
      request.resource,
      policyMessage(decision),
      decision.unmet,
    );
    return answer({ allowed: false, denied: true, reason: `${message} ${ref}` });
  }
  if (isRuleAllow(decision))
    return answer({ allowed: true, reason: `allowed by ${rulesOf(decision)} ${ref}` });
  if (isRuleDeny(decision) || (decision.effect === 'deny' && decision.failReason !== undefined))
    return answer({
      allowed: false,
      denied: true,
      reason: `${policyMessage(decision) ?? 'Denied by Stepgate policy.'} ${ref}`,
    });
  const why =
    decision.failReason !== undefined
      ? (policyMessage(decision) ?? 'Stepgate is failing open')
      : 'no Stepgate rule decides this request';
  return answer({
    allowed: false,
    reason: `${why.replace(/\.$/, '')}; deferring to the other authorizers ${ref}`,
  });
}

function rulesOf(decision: AgentDecision): string {
  return decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`).join(', ');
}
