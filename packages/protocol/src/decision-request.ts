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
  options: {
    name?: FieldNamer;
    /**
     * Whether a later parse of the result may hand it back as it is (default true). `false`
     * for the last parse a request goes through (the decision point's): remembering it would
     * only keep a weak entry alive beside every decision record the agent holds.
     */
    remember?: boolean;
  } = {},
): DecisionInput {
  // An edge (the agent's HTTP API, AuthZEN, the webhooks) parses the body, then hands the result
  // to the decision point, which parses what it is given: the second pass would cost a zod parse
  // and a size walk per decision for nothing.
  if (typeof value === 'object' && value !== null && parsed.has(value))
    return value as DecisionInput;
  const name = options.name ?? same;
  const request = wellFormed(value) ?? parseShape(value, name);
  const problem = requestLimitProblem(request, name);
  if (problem !== undefined)
    throw new StepgateError('request/invalid', problem.message, {
      field: problem.field,
      limit: problem.limit,
    });
  if (options.remember !== false) parsed.add(request);
  return request;
}

/** The zod parse: every input {@link wellFormed} does not take, and the messages of the bad ones. */
function parseShape(value: unknown, name: FieldNamer): DecisionInput {
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
  return request;
}

const isStringList = (value: unknown): value is string[] => {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
  return true;
};

/**
 * The shape check of the common case, by hand: the input as the zod schema would return it
 * when every field is present with the right type and none is unknown, else undefined (and
 * the zod parse decides, with its messages). It accepts a subset of what the schema accepts,
 * never more: a key it does not list, or an optional one present as undefined, goes to zod.
 * Why: the zod parse was a fifth of a decision's time and most of its short-lived objects
 * (a decision point decides in microseconds, and its garbage shows in the latency tail). Like
 * the schema, it copies principal and resource (attributes, context and lists are passed on).
 */
export function wellFormed(value: unknown): DecisionInput | undefined {
  if (!isObject(value)) return undefined;
  let principal: unknown;
  let action: unknown;
  let actionAttributes: unknown;
  let resource: unknown;
  let context: unknown;
  for (const key in value) {
    const field = value[key];
    if (field === undefined) return undefined;
    if (key === 'principal') principal = field;
    else if (key === 'action') action = field;
    else if (key === 'resource') resource = field;
    else if (key === 'context') context = field;
    else if (key === 'actionAttributes') actionAttributes = field;
    else if (key !== 'auth') return undefined;
  }
  if (typeof action !== 'string' || action === '') return undefined;
  if (!isObject(principal) || !isObject(resource)) return undefined;
  if (context !== undefined && !isObject(context)) return undefined;
  if (actionAttributes !== undefined && !isObject(actionAttributes)) return undefined;

  let id: unknown;
  let roles: unknown;
  let groups: unknown;
  let attributes: unknown;
  for (const key in principal) {
    const field = principal[key];
    if (field === undefined) return undefined;
    if (key === 'id') id = field;
    else if (key === 'roles') roles = field;
    else if (key === 'groups') groups = field;
    else if (key === 'attributes') attributes = field;
    else return undefined;
  }
  if (typeof id !== 'string' || id === '') return undefined;
  if (roles !== undefined && !isStringList(roles)) return undefined;
  if (groups !== undefined && !isStringList(groups)) return undefined;
  if (attributes !== undefined && !isObject(attributes)) return undefined;
  const principalCopy: DecisionInput['principal'] = { id };
  if (roles !== undefined) principalCopy.roles = roles;
  if (groups !== undefined) principalCopy.groups = groups;
  if (attributes !== undefined) principalCopy.attributes = attributes;

  let kind: unknown;
  let resourceId: unknown;
  let resourceAttributes: unknown;
  for (const key in resource) {
    const field = resource[key];
    if (field === undefined) return undefined;
    if (key === 'kind') kind = field;
    else if (key === 'id') resourceId = field;
    else if (key === 'attributes') resourceAttributes = field;
    else return undefined;
  }
  if (typeof kind !== 'string' || typeof resourceId !== 'string') return undefined;
  if (resourceAttributes !== undefined && !isObject(resourceAttributes)) return undefined;
  const resourceCopy: DecisionInput['resource'] = { kind, id: resourceId };
  if (resourceAttributes !== undefined) resourceCopy.attributes = resourceAttributes;

  const request: DecisionInput = { principal: principalCopy, action, resource: resourceCopy };
  if (actionAttributes !== undefined) request.actionAttributes = actionAttributes;
  if (context !== undefined) request.context = context;
  return request;
}
