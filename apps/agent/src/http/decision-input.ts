import { requestLimitProblem, type DecisionRequest, type FieldNamer } from '@stepgate/policy';

/** A body the agent refuses with 400 (or `status`) `{error: 'request/invalid', message, details?}`. */
export class BadRequestError extends Error {
  readonly status: number;

  constructor(
    message: string,
    status = 400,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'BadRequestError';
    this.status = status;
  }
}

/**
 * The request size limits every decision API shares (`REQUEST_LIMITS` of @stepgate/policy,
 * which the engine enforces again), checked at an edge that names fields its own way (AuthZEN's
 * `subject.id`) or answers with another status (414/431 for a proxied request's path).
 * @throws BadRequestError `{details: {field, limit}}`.
 */
export function checkRequestLimits(
  request: DecisionRequest,
  options: { name?: FieldNamer; prefix?: string; status?: (field: string) => number } = {},
): void {
  const problem = requestLimitProblem(request, options.name);
  if (problem === undefined) return;
  throw new BadRequestError(
    `${options.prefix ?? ''}${problem.message}`,
    options.status?.(problem.field) ?? 400,
    { field: problem.field, limit: problem.limit },
  );
}

const INPUT_FIELDS = new Set(['principal', 'action', 'resource', 'context']);
const PRINCIPAL_FIELDS = new Set(['id', 'roles', 'groups', 'attributes']);
const RESOURCE_FIELDS = new Set(['kind', 'id', 'attributes']);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses fields outside `allowed`, naming the first one. */
export function onlyFields(
  value: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  where: string,
): void {
  for (const key in value) {
    if (!Object.hasOwn(value, key) || allowed.has(key)) continue;
    // Tolerated for clients written against the test-file format, and dropped: evidence comes
    // only from a token or grant the agent verified itself.
    if (key === 'auth' && where === '') continue;
    throw new BadRequestError(
      `unknown field "${where}${key}" (allowed: ${[...allowed].join(', ')})`,
    );
  }
}

export function stringList(value: unknown, field: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw new BadRequestError(`${field} must be a list of strings`);
}

export function optionalObject(value: unknown, field: string): void {
  if (value !== undefined && !isObject(value))
    throw new BadRequestError(`${field} must be an object`);
}

/**
 * The `POST /v1/decide` body: the input of the language (principal, action, resource,
 * context), nothing else; an `auth` member is dropped unread. The engine re-checks the required parts.
 */
export function parseDecisionInput(body: unknown): DecisionRequest {
  if (!isObject(body))
    throw new BadRequestError('the body must be a JSON object with principal, action and resource');
  onlyFields(body, INPUT_FIELDS, '');
  const { principal, resource, context, action } = body;
  if (!isObject(principal)) throw new BadRequestError('principal must be an object with an id');
  onlyFields(principal, PRINCIPAL_FIELDS, 'principal.');
  if (typeof principal.id !== 'string' || principal.id === '')
    throw new BadRequestError('principal.id must be a non-empty string');
  stringList(principal.roles, 'principal.roles');
  stringList(principal.groups, 'principal.groups');
  optionalObject(principal.attributes, 'principal.attributes');
  if (typeof action !== 'string' || action === '')
    throw new BadRequestError('action must be a non-empty string');
  if (!isObject(resource)) throw new BadRequestError('resource must be an object with kind and id');
  onlyFields(resource, RESOURCE_FIELDS, 'resource.');
  if (typeof resource.kind !== 'string' || typeof resource.id !== 'string')
    throw new BadRequestError('resource.kind and resource.id must be strings');
  optionalObject(resource.attributes, 'resource.attributes');
  optionalObject(context, 'context');
  const request: DecisionRequest = {
    principal: principal as DecisionRequest['principal'],
    action,
    resource: resource as DecisionRequest['resource'],
  };
  if (context !== undefined) request.context = context as Record<string, unknown>;
  return request;
}
