import type { DecisionRequest, Reason, Requirement, RequirementPart } from '@stepgate/policy';
import { describeRequirement, needsAuthentication } from './challenge.js';
import type { AgentDecision } from './decision-record.js';

/**
 * Kubernetes requests as decision input, shared by the admission webhook (AdmissionReview)
 * and the authorization webhook (SubjectAccessReview):
 * - `principal.id` = username, `principal.groups` = groups; the user's `uid` and `extra`
 *   go to `principal.attributes.uid` / `principal.attributes.extra` (only when Kubernetes
 *   sends them), so a policy can use e.g. `principal.attributes.extra["scopes"]`;
 * - `action` = `k8s:<verb>:[<group>/]<resource>[/<subresource>]` (`k8s:update:configmaps`,
 *   `k8s:create:pods/exec`, `k8s:patch:apps/deployments`);
 * - `resource` = `{kind: "k8s:<resource>", id: "<namespace>/<name>"}`, `_cluster/<name>`
 *   for cluster-scoped objects (and SubjectAccessReviews over all namespaces), `*` as the
 *   name when the request names no object (list, watch, deletecollection, a create with
 *   `generateName` only). `resource.attributes` always holds `namespace`, `name`, `group`,
 *   `version`, `resource` and `subresource` (empty strings when absent), so conditions never
 *   fail on a missing key; admission adds the object's `labels` (and `oldLabels` on updates,
 *   so removing a protective label cannot sidestep a rule that looks at labels).
 * - Non-resource requests (`/healthz`, `/version`...): `k8s:<verb>:nonresource` on
 *   `{kind: "k8s:nonresource", id: <path>}`.
 */

/** The namespace part of resource ids for cluster-scoped (or all-namespace) requests. */
export const K8S_CLUSTER_SCOPE = '_cluster';
/** The name part of resource ids when the request names no single object. */
export const K8S_ANY_NAME = '*';

/** Who is asking, as Kubernetes' authenticators saw them. */
export interface K8sUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The resource part of a request (SubjectAccessReview `resourceAttributes`, admission `resource`). */
export interface K8sResourceAttributes {
  /** Lower-case Kubernetes verb: get, list, create, update, patch, delete, connect... */
  verb: string;
  /** API group; empty for the core group. */
  group?: string;
  version?: string;
  /** Plural resource name (`pods`, `deployments`). */
  resource: string;
  subresource?: string;
  /** Empty for cluster-scoped resources. */
  namespace?: string;
  /** Empty when the request names no single object. */
  name?: string;
}

/** A request to a path outside the resource API (SubjectAccessReview `nonResourceAttributes`). */
export interface K8sNonResourceAttributes {
  verb: string;
  path: string;
}

/** What an admission request adds beyond the attributes: the object's labels and context. */
export interface K8sResourceExtras {
  labels?: Record<string, string>;
  oldLabels?: Record<string, string>;
  context?: Record<string, unknown>;
}

/** `k8s:<verb>:[<group>/]<resource>[/<subresource>]`. */
export function k8sAction(
  attributes: Pick<K8sResourceAttributes, 'verb' | 'group' | 'resource' | 'subresource'>,
): string {
  const group = attributes.group ? `${attributes.group}/` : '';
  const sub = attributes.subresource ? `/${attributes.subresource}` : '';
  return `k8s:${attributes.verb}:${group}${attributes.resource}${sub}`;
}

/** `<namespace>/<name>`, `_cluster/<name>` without a namespace, `*` without a name. */
export function k8sResourceId(namespace: string | undefined, name: string | undefined): string {
  return `${namespace || K8S_CLUSTER_SCOPE}/${name || K8S_ANY_NAME}`;
}

/** The principal of a Kubernetes user (see the module comment for where uid/extra go). */
export function k8sPrincipal(user: K8sUser): DecisionRequest['principal'] {
  const principal: DecisionRequest['principal'] = { id: user.username, groups: user.groups ?? [] };
  const attributes: Record<string, unknown> = {};
  if (user.uid) attributes.uid = user.uid;
  if (user.extra !== undefined && Object.keys(user.extra).length > 0) attributes.extra = user.extra;
  if (Object.keys(attributes).length > 0) principal.attributes = attributes;
  return principal;
}

/** A resource request (admission or SubjectAccessReview) as decision input. */
export function k8sResourceRequest(
  user: K8sUser,
  attributes: K8sResourceAttributes,
  extras: K8sResourceExtras = {},
): DecisionRequest {
  const resourceAttributes: Record<string, unknown> = {
    namespace: attributes.namespace ?? '',
    name: attributes.name ?? '',
    group: attributes.group ?? '',
    version: attributes.version ?? '',
    resource: attributes.resource,
    subresource: attributes.subresource ?? '',
  };
  if (extras.labels !== undefined) resourceAttributes.labels = extras.labels;
  if (extras.oldLabels !== undefined) resourceAttributes.oldLabels = extras.oldLabels;
  return {
    principal: k8sPrincipal(user),
    action: k8sAction(attributes),
    resource: {
      kind: `k8s:${attributes.resource}`,
      id: k8sResourceId(attributes.namespace, attributes.name),
      attributes: resourceAttributes,
    },
    context: extras.context ?? {},
  };
}

/** A non-resource request (`/healthz`, `/logs/...`) as decision input. */
export function k8sNonResourceRequest(
  user: K8sUser,
  attributes: K8sNonResourceAttributes,
  context: Record<string, unknown> = {},
): DecisionRequest {
  return {
    principal: k8sPrincipal(user),
    action: `k8s:${attributes.verb}:nonresource`,
    resource: { kind: 'k8s:nonresource', id: attributes.path },
    context,
  };
}

/**
 * The first message a policy gave for the decision's reasons (the rule's `message`), if any.
 */
export function policyMessage(decision: Pick<AgentDecision, 'reasons'>): string | undefined {
  return decision.reasons.find((reason) => reason.message)?.message;
}

/**
 * Whether a deny came from a matching policy rule (including a rule whose condition failed
 * under `onError: deny`), as opposed to the default effect or the agent's fail mode.
 */
export function isRuleDeny(decision: Pick<AgentDecision, 'effect' | 'reasons'>): boolean {
  return decision.effect === 'deny' && decision.reasons.some(isPolicyReason);
}

/** Whether an allow came from a matching `allow` rule rather than `defaultEffect: allow`. */
export function isRuleAllow(
  decision: Pick<AgentDecision, 'effect' | 'reasons' | 'failReason'>,
): boolean {
  return (
    decision.effect === 'allow' &&
    decision.failReason === undefined &&
    decision.reasons.some(isPolicyReason)
  );
}

/** Reasons the engine (`(default)`) or the agent's fail mode (`(agent)`) made up. */
function isPolicyReason(reason: Reason): boolean {
  return reason.policy !== '(default)' && reason.policy !== '(agent)';
}

/**
 * What a kubectl user reads when a step-up is due: what is missing, the exact command that
 * elevates them (or asks for approvals), and the policy's own message. For example:
 * `Step-up required: authenticate with mfa within the last 15m. Run: npx stepgate elevate
 * --action 'k8s:update:configmaps' --resource 'prod/app-config' and retry.`
 * Arguments are single-quoted for POSIX shells, so the command can be pasted as is.
 */
export function k8sStepUpMessage(
  require: Requirement,
  action: string,
  resource: { kind: string; id: string },
  message?: string,
  unmet?: readonly RequirementPart[],
): string {
  const target = `--action ${shellQuote(action)} --resource ${shellQuote(resource.id)}`;
  const elevate = `npx stepgate elevate ${target}`;
  // `require` is complete; without `unmet` every part of it counts as still to do.
  const login =
    unmet !== undefined
      ? needsAuthentication(unmet)
      : require.level !== undefined || require.maxAge !== undefined;
  const approvals =
    unmet !== undefined ? unmet.includes('approvals') : require.approvals !== undefined;
  let run: string;
  if (approvals) {
    // The approval request names the resource exactly (kind and id); a grant's scope is
    // action and resource-id patterns, so elevate needs no kind.
    const request = `npx stepgate request ${target} --resource-kind ${shellQuote(resource.kind)} --reason "<why you need this>"`;
    run = login
      ? `Run: ${request}, then once approved: ${elevate} and retry.`
      : `Run: ${request} and retry once approved.`;
  } else {
    run = `Run: ${elevate} and retry.`;
  }
  const why = message !== undefined && message.trim() !== '' ? ` Policy: ${message.trim()}` : '';
  return `${describeRequirement(require, unmet)} ${run}${why}`;
}

/** POSIX single quotes: nothing inside is interpreted; a `'` becomes `'\''`. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
