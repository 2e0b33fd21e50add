import { stepUpChallenge, type AgentDecision } from '@stepgate/agent-core';
import type { DecisionRequest, Level } from '@stepgate/policy';
import { parseDecisionRequest, StepgateError } from '@stepgate/protocol';
import { invalidRequest, isObject } from './decision-input.js';

/**
 * OpenID AuthZEN Authorization API 1.0: the Access Evaluation (`/access/v1/evaluation`) and
 * Access Evaluations (`/access/v1/evaluations`) endpoints, mapped to the language input as
 * DESIGN "Fixed surface" says:
 *   subject.id -> principal.id; subject.properties.roles/groups -> principal.roles/groups;
 *   other subject.properties -> principal.attributes; action.name -> action;
 *   action.properties -> actionAttributes; resource.type/id -> resource.kind/id;
 *   resource.properties -> resource.attributes; context -> context.
 * Unknown fields are ignored at every level, as the specification requires of a PDP (forward
 * compatibility): only the fields above are read, so nothing else reaches the policy input.
 * A step-up is `decision: false` with the requirement in `context.step_up`.
 */

export type EvaluationsSemantic = 'execute_all' | 'deny_on_first_deny' | 'permit_on_first_permit';

export interface AuthzenDecision {
  decision: boolean;
  context?: Record<string, unknown>;
}

/** Items per evaluations request: a PEP asking more should split the batch. */
export const MAX_EVALUATIONS = 1000;

const SEMANTICS: readonly EvaluationsSemantic[] = [
  'execute_all',
  'deny_on_first_deny',
  'permit_on_first_permit',
];

/** The decision-input fields by their AuthZEN names, for the shared parser's errors. */
const AUTHZEN_NAMES: Readonly<Record<string, string>> = {
  'principal.id': 'subject.id',
  'principal.roles': 'subject.properties.roles',
  'principal.groups': 'subject.properties.groups',
  'principal.attributes': 'subject.properties',
  action: 'action.name',
  actionAttributes: 'action.properties',
  'resource.kind': 'resource.type',
  'resource.attributes': 'resource.properties',
};
const authzenName = (field: string): string => AUTHZEN_NAMES[field] ?? field;

/**
 * The language input for one AuthZEN evaluation. Only what is AuthZEN's own is checked here
 * (the entity envelopes, `subject.type`, `resource.type`); the mapped input then goes through
 * the parser every decision API shares, with errors in AuthZEN's names. Fields AuthZEN does
 * not define are not read (hence ignored, never passed on).
 * @throws StepgateError `request/invalid`
 */
export function toDecisionRequest(evaluation: Record<string, unknown>): DecisionRequest {
  const { subject, action, resource, context } = evaluation;
  if (!isObject(subject)) throw invalidRequest('subject must be an object with type and id');
  if (typeof subject.type !== 'string' || subject.type === '')
    throw invalidRequest('subject.type must be a non-empty string');
  if (!isObject(action)) throw invalidRequest('action must be an object with a name');
  if (!isObject(resource)) throw invalidRequest('resource must be an object with type and id');
  if (typeof resource.type !== 'string' || resource.type === '')
    throw invalidRequest('resource.type must be a non-empty string');

  const principal: Record<string, unknown> = { id: subject.id };
  const { properties } = subject;
  if (isObject(properties)) {
    const { roles, groups, ...attributes } = properties;
    if (roles !== undefined) principal.roles = roles;
    if (groups !== undefined) principal.groups = groups;
    if (Object.keys(attributes).length > 0) principal.attributes = attributes;
  } else if (properties !== undefined) principal.attributes = properties;
  const mapped: Record<string, unknown> = {
    principal,
    action: action.name,
    resource: { kind: resource.type, id: resource.id },
  };
  if (action.properties !== undefined) mapped.actionAttributes = action.properties;
  if (resource.properties !== undefined)
    (mapped.resource as Record<string, unknown>).attributes = resource.properties;
  if (context !== undefined) mapped.context = context;
  return parseDecisionRequest(mapped, { name: authzenName });
}

/** Validates a single evaluation body. @throws StepgateError `request/invalid` */
export function parseEvaluation(body: unknown): DecisionRequest {
  if (!isObject(body))
    throw invalidRequest('the body must be a JSON object with subject, action and resource');
  return toDecisionRequest(body);
}

export interface EvaluationsBatch {
  /** Items with the top-level defaults applied, or the error that item has. */
  items: (DecisionRequest | StepgateError)[];
  semantic: EvaluationsSemantic;
  /** No `evaluations` array: answered like a single evaluation. */
  single: boolean;
}

/**
 * Validates an evaluations body. Top-level subject/action/resource/context are defaults an
 * item replaces whole; an invalid item is answered in place (`decision: false` with
 * `context.error`), an invalid envelope is a 400.
 */
export function parseEvaluations(body: unknown): EvaluationsBatch {
  if (!isObject(body)) throw invalidRequest('the body must be a JSON object');
  let semantic: EvaluationsSemantic = 'execute_all';
  if (body.options !== undefined) {
    if (!isObject(body.options)) throw invalidRequest('options must be an object');
    const requested = body.options.evaluations_semantic;
    if (requested !== undefined) {
      if (!SEMANTICS.includes(requested as EvaluationsSemantic))
        throw invalidRequest(`options.evaluations_semantic must be one of ${SEMANTICS.join(', ')}`);
      semantic = requested as EvaluationsSemantic;
    }
  }
  const { evaluations } = body;
  if (evaluations === undefined || (Array.isArray(evaluations) && evaluations.length === 0)) {
    return { items: [toDecisionRequest(body)], semantic, single: true };
  }
  if (!Array.isArray(evaluations)) throw invalidRequest('evaluations must be an array');
  if (evaluations.length > MAX_EVALUATIONS)
    throw invalidRequest(`at most ${MAX_EVALUATIONS} evaluations per request`);
  const items = evaluations.map((item, index) => {
    try {
      if (!isObject(item)) throw invalidRequest('an evaluation must be an object');
      return toDecisionRequest({
        subject: item.subject ?? body.subject,
        action: item.action ?? body.action,
        resource: item.resource ?? body.resource,
        context: item.context ?? body.context,
      });
    } catch (error) {
      if (error instanceof StepgateError)
        return invalidRequest(`evaluations[${index}]: ${error.message}`);
      throw error;
    }
  });
  return { items, semantic, single: false };
}

/**
 * Evaluates a parsed batch in order. `deny_on_first_deny` stops after the first `false`
 * (including an invalid item), `permit_on_first_permit` after the first `true`.
 */
export function evaluateBatch(
  batch: EvaluationsBatch,
  decide: (request: DecisionRequest) => AgentDecision,
  levels: () => readonly Level[],
): AuthzenDecision[] {
  const results: AuthzenDecision[] = [];
  for (const item of batch.items) {
    let result: AuthzenDecision;
    if (item instanceof StepgateError) result = errorDecision(item.message);
    else {
      try {
        result = toAuthzenDecision(decide(item), levels());
      } catch (error) {
        if (!(error instanceof StepgateError && error.code === 'request/invalid')) throw error;
        result = errorDecision(error.message);
      }
    }
    results.push(result);
    if (batch.semantic === 'deny_on_first_deny' && !result.decision) break;
    if (batch.semantic === 'permit_on_first_permit' && result.decision) break;
  }
  return results;
}

function errorDecision(message: string): AuthzenDecision {
  return { decision: false, context: { error: { status: 400, message } } };
}

/** `{decision, context}` for a decision: reasons, step-up requirement, ids. */
export function toAuthzenDecision(
  decision: AgentDecision,
  levels: readonly Level[],
): AuthzenDecision {
  const context: Record<string, unknown> = {
    id: decision.decisionId,
    effect: decision.effect,
    revision: decision.revision,
  };
  if (decision.failReason !== undefined) context.fail_reason = decision.failReason;
  if (decision.shadow !== undefined) context.shadow = decision.shadow;
  if (decision.effect !== 'allow') {
    context.reason_admin = {
      en: decision.reasons
        .map(
          (reason) =>
            `${reason.policy}/${reason.rule}${reason.message ? `: ${reason.message}` : ''}`,
        )
        .join('; '),
    };
    const message = decision.reasons.find((reason) => reason.message)?.message;
    if (decision.effect === 'step_up') {
      const require = decision.require ?? {};
      const challenge = stepUpChallenge(require, levels, {
        ...(message !== undefined ? { message } : {}),
        ...(decision.unmet !== undefined ? { unmet: decision.unmet } : {}),
      });
      const stepUp: Record<string, unknown> = {};
      if (require.level !== undefined) stepUp.level = require.level;
      if (challenge.acrValues !== undefined) stepUp.acr_values = challenge.acrValues;
      if (challenge.maxAge !== undefined) stepUp.max_age = challenge.maxAge;
      if (require.approvals !== undefined) stepUp.approvals = require.approvals;
      if (decision.unmet !== undefined) stepUp.unmet = decision.unmet;
      context.step_up = stepUp;
      context.reason_user = { en: challenge.description };
    } else {
      context.reason_user = { en: message ?? 'Access denied.' };
    }
  }
  return { decision: decision.effect === 'allow', context };
}
