import type { DecisionRequest } from '../model.js';

/**
 * A request the engine cannot evaluate. Every API parses requests with @stepgate/protocol's
 * `parseDecisionRequest` first (the one wire check, with the size limits), so an API never
 * sees this; it guards the engine's own callers (policy tests, the fuzz suite).
 */
export class InvalidRequestError extends Error {
  readonly code = 'request/invalid';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

export interface NormalizedRequest {
  principal: { id: string; roles: string[]; groups: string[]; attributes: Record<string, unknown> };
  action: string;
  actionAttributes: Record<string, unknown>;
  resource: { kind: string; id: string; attributes: Record<string, unknown> };
  context: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What an omitted list or object reads as: shared and frozen rather than made per request
 * (conditions cannot modify their input, and a decision takes microseconds).
 */
const NO_STRINGS = Object.freeze([]) as unknown as string[];
const NO_FIELDS = Object.freeze({}) as Record<string, unknown>;

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return NO_STRINGS;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw new InvalidRequestError(`${field} must be a list of strings`);
  return value as string[];
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return NO_FIELDS;
  if (!isRecord(value)) throw new InvalidRequestError(`${field} must be an object`);
  return value;
}

/**
 * Checks the types conditions rely on and fills the optional parts with empty values, so a
 * condition sees the same fields whatever the caller omitted. The wire rules (unknown fields,
 * size limits) are the parser's (@stepgate/protocol `parseDecisionRequest`), which this
 * package cannot import; a table test in the agent pins that whatever it accepts, the engine
 * decides.
 */
export function normalizeRequest(request: DecisionRequest): NormalizedRequest {
  if (!isRecord(request))
    throw new InvalidRequestError(
      'the request must be an object with principal, action and resource',
    );
  const { principal, action, resource } = request as unknown as Record<string, unknown>;
  if (!isRecord(principal) || typeof principal.id !== 'string' || principal.id === '')
    throw new InvalidRequestError('principal.id must be a non-empty string');
  if (typeof action !== 'string' || action === '')
    throw new InvalidRequestError('action must be a non-empty string');
  if (!isRecord(resource) || typeof resource.kind !== 'string' || typeof resource.id !== 'string') {
    throw new InvalidRequestError('resource must be an object with string kind and id');
  }
  return {
    principal: {
      id: principal.id,
      roles: stringList(principal.roles, 'principal.roles'),
      groups: stringList(principal.groups, 'principal.groups'),
      attributes: record(principal.attributes, 'principal.attributes'),
    },
    action,
    actionAttributes: record(
      (request as unknown as Record<string, unknown>).actionAttributes,
      'actionAttributes',
    ),
    resource: {
      kind: resource.kind,
      id: resource.id,
      attributes: record(resource.attributes, 'resource.attributes'),
    },
    context: record((request as unknown as Record<string, unknown>).context, 'context'),
  };
}
