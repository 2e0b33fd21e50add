import {
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
  optionalLabels,
  optionalObjectField,
  optionalString,
  optionalStrings,
  requiredString,
} from './k8s-review-fields.js';

/**
 * `POST /v1/k8s/admission`: a validating admission webhook (AdmissionReview
 * `admission.k8s.io/v1`). Register it like this (the API server only calls webhooks over
 * HTTPS, so put a TLS terminator or mesh sidecar in front of the agent):
 *
 * ```yaml
 * apiVersion: admissionregistration.k8s.io/v1
 * kind: ValidatingWebhookConfiguration
 * metadata: { name: stepgate }
 * webhooks:
 *   - name: admission.stepgate.dev
 *     admissionReviewVersions: ["v1"]
 *     sideEffects: NoneOnDryRun     # dry runs are decided without a decision-log record
 *     failurePolicy: Fail           # or Ignore; see below
 *     matchPolicy: Equivalent
 *     timeoutSeconds: 5
 *     clientConfig: { url: "https://stepgate-agent.stepgate.svc:8443/v1/k8s/admission", caBundle: ... }
 *     rules:
 *       - operations: ["CREATE", "UPDATE", "DELETE", "CONNECT"]
 *         apiGroups: ["*"]
 *         apiVersions: ["*"]
 *         resources: ["configmaps", "secrets", "deployments", "pods/exec", "pods/attach"]
 * ```
 *
 * A malformed review is answered with a 400 JSON error (not an AdmissionReview): the API
 * server counts any non-200 answer as a webhook failure and applies `failurePolicy`
 * (`Fail` refuses the request, `Ignore` lets it through), so choose `Fail` to keep
 * Stepgate's fail-closed promise when the agent is unreachable or confused.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const HINT = 'set admissionReviewVersions: ["v1"] in the ValidatingWebhookConfiguration';

/** A parsed admission request: its uid (to echo), whether it is a dry run, and the input. */
export interface AdmissionInput {
  uid: string;
  dryRun: boolean;
  request: DecisionRequest;
}

/**
 * Reads an AdmissionReview into decision input. Verb: the lower-cased operation; name:
 * `request.name`, else `object.metadata.name` (creates often leave `request.name` empty);
 * labels: the new object's, else (deletes) the old object's; `oldLabels` on updates.
 * Context: `context.k8s = {review: "admission", operation, dryRun, uid}`.
 * @throws StepgateError `request/invalid` naming the first malformed field.
 */
export function parseAdmissionReview(body: unknown): AdmissionInput {
  const review = checkTypeMeta(body, 'AdmissionReview', [ADMISSION_API_VERSION], HINT).body;
  const request = review.request;
  if (!isObject(request))
    throw invalidRequest('request is missing: an AdmissionReview to decide carries request');
  const uid = requiredString(request.uid, 'request.uid');
  const operation = requiredString(request.operation, 'request.operation');
  if (!OPERATIONS.has(operation))
    throw invalidRequest(
      `request.operation must be one of ${[...OPERATIONS].join(', ')}, got "${operation}"`,
    );
  const resource = request.resource;
  if (!isObject(resource))
    throw invalidRequest('request.resource must be an object {group, version, resource}');
  const dryRun = request.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw invalidRequest('request.dryRun must be a boolean');

  const object = optionalObjectField(request.object, 'request.object');
  const oldObject = optionalObjectField(request.oldObject, 'request.oldObject');
  const metadata = optionalObjectField(object?.metadata, 'request.object.metadata');
  const oldMetadata = optionalObjectField(oldObject?.metadata, 'request.oldObject.metadata');
  const labels = optionalLabels(metadata?.labels, 'request.object.metadata.labels');
  const oldLabels = optionalLabels(oldMetadata?.labels, 'request.oldObject.metadata.labels');
  const name =
    optionalString(request.name, 'request.name') ||
    optionalString(metadata?.name, 'request.object.metadata.name') ||
    optionalString(oldMetadata?.name, 'request.oldObject.metadata.name');

  const input = k8sResourceRequest(
    userOf(request.userInfo),
    {
      verb: operation.toLowerCase(),
      group: optionalString(resource.group, 'request.resource.group') ?? '',
      version: optionalString(resource.version, 'request.resource.version') ?? '',
      resource: requiredString(resource.resource, 'request.resource.resource'),
      subresource: optionalString(request.subResource, 'request.subResource') ?? '',
      namespace: optionalString(request.namespace, 'request.namespace') ?? '',
      name: name ?? '',
    },
    {
      labels: labels ?? oldLabels ?? {},
      ...(oldObject !== undefined && object !== undefined ? { oldLabels: oldLabels ?? {} } : {}),
      context: { k8s: { review: 'admission', operation, dryRun, uid } },
    },
  );
  return { uid, dryRun, request: input };
}

function userOf(value: unknown): K8sUser {
  if (!isObject(value)) throw invalidRequest('request.userInfo must be an object with a username');
  const user: K8sUser = { username: requiredString(value.username, 'request.userInfo.username') };
  const uid = optionalString(value.uid, 'request.userInfo.uid');
  if (uid) user.uid = uid;
  const groups = optionalStrings(value.groups, 'request.userInfo.groups');
  if (groups) user.groups = groups;
  const extra = optionalExtra(value.extra, 'request.userInfo.extra');
  if (extra) user.extra = extra;
  return user;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason: string };
  auditAnnotations: Record<string, string>;
  warnings?: string[];
}

/** The answer to the API server: `{apiVersion, kind, response}`. */
export interface AdmissionReviewAnswer {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/**
 * The AdmissionReview answer for a decision: allow -> allowed; deny -> 403 with the policy's
 * message; step_up -> 403 whose message names the command that elevates the user (or asks
 * for approvals). Audit annotations (the API server prefixes them with the webhook name)
 * carry the decision, its id, the bundle revision and the deciding rules, so the cluster's
 * audit log links to Stepgate's decision log. Matching `mode: audit` rules become warnings,
 * which kubectl prints; so does a fail-open allow.
 */
export function admissionAnswer(
  input: AdmissionInput,
  decision: AgentDecision,
): AdmissionReviewAnswer {
  const auditAnnotations: Record<string, string> = {
    decision: decision.effect,
    'decision-id': decision.decisionId,
    revision: String(decision.revision),
  };
  const rules = decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`);
  if (rules.length > 0) auditAnnotations.rule = rules.join(',');
  if (decision.failReason !== undefined) auditAnnotations['fail-reason'] = decision.failReason;
  // The grants (elevations, approvals) that satisfied a step-up, for the audit trail.
  if (decision.grants !== undefined && decision.grants.length > 0)
    auditAnnotations.grant = decision.grants.join(',');
  if (input.dryRun) auditAnnotations['dry-run'] = 'true';

  const response: AdmissionResponse = {
    uid: input.uid,
    allowed: decision.effect === 'allow',
    auditAnnotations,
  };
  const warnings = (decision.audit ?? [])
    .filter((reason) => reason.message)
    .map((reason) => warning(`Stepgate (audit only, not enforced): ${reason.message}`));
  if (decision.effect === 'allow' && decision.failReason !== undefined)
    warnings.push(warning(`Stepgate: ${policyMessage(decision) ?? 'failing open'}`));
  if (warnings.length > 0) response.warnings = warnings;

  if (decision.effect === 'deny') {
    response.status = {
      code: 403,
      reason: 'Forbidden',
      message: policyMessage(decision) ?? 'Denied by Stepgate policy.',
    };
  } else if (decision.effect === 'step_up') {
    const { request } = input;
    response.status = {
      code: 403,
      reason: 'Forbidden',
      message: k8sStepUpMessage(
        decision.require ?? {},
        request.action,
        request.resource,
        policyMessage(decision),
        decision.unmet,
      ),
    };
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** Kubernetes truncates long warnings; keep them readable and within its 256-character advice. */
function warning(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > 256 ? `${clean.slice(0, 253)}...` : clean;
}
