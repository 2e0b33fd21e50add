import { z } from 'zod';
import { StepgateError } from './errors.js';
import { requestLimitProblem, type FieldNamer } from './request-limits.js';

/**
 * The decision input every decision API takes (the agent's `/v1/decide`, AuthZEN evaluations
 * once mapped, `/v1/authz/http`, the Kubernetes webhooks, the SDK, the control plane's
 * `/v1/check`): one schema and one parser, so no API accepts what another refuses. The
 * policy language's `DecisionRequest` has the same shape.
 */
export interface DecisionInput {
  principal: {
    id: string;
    roles?: string[];
    groups?: string[];
    attributes?: Record<string, unknown>;
  };
  action: string;
  /** Properties of the action (AuthZEN's `action.properties`): `actionAttributes` in conditions. */
  actionAttributes?: Record<string, unknown>;
  resource: { kind: string; id: string; attributes?: Record<string, unknown> };
  context?: Record<string, unknown>;
}

const same: FieldNamer = (field) => field;

/** What is wrong at a field, in the caller's names (`name`), keyed by the field's path. */
const PROBLEMS: Readonly<Record<string, (name: FieldNamer) => string>> = {
  '': () => 'the body must be a JSON object with principal, action and resource',
  principal: (name) => `${name('principal')} must be an object with an id`,
  'principal.id': (name) => `${name('principal.id')} must be a non-empty string`,
  'principal.roles': (name) => `${name('principal.roles')} must be a list of strings`,
  'principal.groups': (name) => `${name('principal.groups')} must be a list of strings`,
  'principal.attributes': (name) => `${name('principal.attributes')} must be an object`,
  action: (name) => `${name('action')} must be a non-empty string`,
  actionAttributes: (name) => `${name('actionAttributes')} must be an object`,
  resource: (name) => `${name('resource')} must be an object with kind and id`,
  'resource.kind': (name) => `${name('resource.kind')} must be a string`,
  'resource.id': (name) => `${name('resource.id')} must be a string`,
  'resource.attributes': (name) => `${name('resource.attributes')} must be an object`,
  context: (name) => `${name('context')} must be an object`,
};

const problemAt = (field: string, name: FieldNamer = same): string =>
  (PROBLEMS[field] ?? (() => `${name(field)} is invalid`))(name);

function unknownFields(where: string, keys: readonly string[], allowed: readonly string[]): string {
  return `unknown field "${where === '' ? '' : `${where}.`}${keys[0] ?? ''}" (allowed: ${allowed.join(', ')})`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Attributes and context: any JSON object, passed on as sent. Not copied, so a key such as
 * `__proto__` stays a plain key and cannot become the copy's prototype.
 */
const jsonObject = (field: string) =>
  z
    .custom<Record<string, unknown>>(isObject, { error: () => problemAt(field) })
    // What the OpenAPI document says of it (a custom check has no JSON Schema of its own).
    .meta({ type: 'object' });
const nonEmptyString = (field: string) =>
  z.string({ error: () => problemAt(field) }).min(1, { error: () => problemAt(field) });
const stringList = (field: string) =>
  z.array(z.string({ error: () => problemAt(field) }), { error: () => problemAt(field) });
const string = (field: string) => z.string({ error: () => problemAt(field) });

/** A strict object whose own problems (wrong type, unknown field) read as the agent says them. */
function strictObject<T extends z.ZodRawShape>(
  where: string,
  shape: T,
  listed = Object.keys(shape),
) {
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFields(where, issue.keys, listed)
        : problemAt(where),
  });
}

const INPUT_FIELDS = ['principal', 'action', 'actionAttributes', 'resource', 'context'];

/**
 * The shape of a decision input without the size limits: strict (an unknown field is refused,
 * naming it), except a top-level `auth`, which clients written against the test-file format
 * send: accepted and never read, since evidence comes only from a token or grant the decider
 * verified itself.
 */
const decisionRequestShape = strictObject(
  '',
  {
    principal: strictObject('principal', {
      id: nonEmptyString('principal.id'),
      roles: stringList('principal.roles').optional(),
      groups: stringList('principal.groups').optional(),
      attributes: jsonObject('principal.attributes').optional(),
    }),
    action: nonEmptyString('action'),
    actionAttributes: jsonObject('actionAttributes').optional(),
    resource: strictObject('resource', {
      kind: string('resource.kind'),
      id: string('resource.id'),
      attributes: jsonObject('resource.attributes').optional(),
    }),
    context: jsonObject('context').optional(),
    auth: z.unknown().optional().describe('Ignored: evidence comes only from verified tokens.'),
  },
  INPUT_FIELDS,
);

/**
 * The decision input with the size limits (`REQUEST_LIMITS`), for zod consumers (the control
 * plane's `/v1/check` body, the OpenAPI document). {@link parseDecisionRequest} applies the
 * same schema and limits.
 */
export const decisionRequestSchema = decisionRequestShape.superRefine((request, context) => {
  const problem = requestLimitProblem(request);
  if (problem !== undefined)
    context.addIssue({
      code: 'custom',
      message: problem.message,
      params: { field: problem.field, limit: problem.limit },
    });
});

/**
 * Inputs this parser built (fresh objects, never the caller's): passed in again, they are
 * returned as they are. Weak, so they go with the request.
 */
const parsed = new WeakSet<object>();

/**
 * Parses a decision input (the `/v1/decide` body, or another API's body mapped to it) into the
 * language's input: `auth` dropped, nothing else changed. Strict: an unknown field is refused
 * (our own protocol, where a typo should fail loudly); APIs whose standard says to ignore
 * unknown fields (AuthZEN) pick the fields they know before mapping. `name` renames fields in
 * messages to the API's own names (AuthZEN's `subject.id`).
 * @throws StepgateError `request/invalid` naming the first problem; past a size limit with
 *   `details: {field, limit}`.
 */
export function parseDecisionRequest(
  value: unknown,
  options: { name?: FieldNamer } = {},
): DecisionInput {
  // An edge (the agent's HTTP API, AuthZEN, the webhooks) parses the body, then hands the result
  // to the decision point, which parses what it is given: the second pass would cost a zod parse
  // and a size walk per decision for nothing.
  if (typeof value === 'object' && value !== null && parsed.has(value))
    return value as DecisionInput;
  const name = options.name ?? same;
  const result = decisionRequestShape.safeParse(value);
  if (!result.success) {
    // One problem, as every decision API has always answered: an unknown field first (the
    // outermost), since a misspelt field usually explains the others' absence.
    const { issues } = result.error;
    const unknown = issues
      .filter((candidate) => candidate.code === 'unrecognized_keys')
      .sort((a, b) => a.path.length - b.path.length);
    const issue = unknown[0] ?? issues[0];
    const field = (issue?.path ?? []).slice(0, 2).map(String).join('.');
    const message =
      issue !== undefined && (issue.code === 'unrecognized_keys' || name === same)
        ? issue.message
        : problemAt(field, name);
    throw new StepgateError('request/invalid', message);
  }
  const { principal, action, actionAttributes, resource, context } = result.data;
  const request: DecisionInput = { principal, action, resource };
  if (actionAttributes !== undefined) request.actionAttributes = actionAttributes;
  if (context !== undefined) request.context = context;
  const problem = requestLimitProblem(request, name);
  if (problem !== undefined)
    throw new StepgateError('request/invalid', problem.message, {
      field: problem.field,
      limit: problem.limit,
    });
  parsed.add(request);
  return request;
}
