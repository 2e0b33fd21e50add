import {
  parseDecisionRequest,
  requestLimitProblem,
  StepgateError,
  type FieldNamer,
} from '@stepgate/protocol';
import type { DecisionRequest } from '@stepgate/policy';

/**
 * A refused request: `request/invalid` (400, or `status` where the transport says more: 413,
 * 414, 431), answered by the server as `{error, message, details?}`.
 */
export function invalidRequest(
  message: string,
  status?: number,
  details?: Record<string, unknown>,
): StepgateError {
  return new StepgateError(
    'request/invalid',
    message,
    details,
    status !== undefined ? { status } : undefined,
  );
}

/**
 * The request size limits every decision API shares (`REQUEST_LIMITS` of @stepgate/protocol,
 * which the decision point applies again), checked at an edge that answers with another status
 * (414/431 for a proxied request's path) or words its messages for its own format.
 * @throws StepgateError `request/invalid` with `details: {field, limit}`.
 */
export function checkRequestLimits(
  request: DecisionRequest,
  options: { name?: FieldNamer; prefix?: string; status?: (field: string) => number } = {},
): void {
  const problem = requestLimitProblem(request, options.name);
  if (problem === undefined) return;
  throw invalidRequest(
    `${options.prefix ?? ''}${problem.message}`,
    options.status?.(problem.field) ?? 400,
    { field: problem.field, limit: problem.limit },
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `POST /v1/decide` body: the input of the language (principal, action, actionAttributes,
 * resource, context), checked by the one decision-input parser every API shares. Strict: it is
 * our own protocol, so a misspelt field is refused, naming it, rather than silently ignored.
 */
export function parseDecisionInput(body: unknown): DecisionRequest {
  return parseDecisionRequest(body);
}
