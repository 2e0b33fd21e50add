import type { DecisionRequest } from '../model.js';
import { requestLimitProblem } from './request-limits.js';

/**
 * A request the engine cannot evaluate; APIs map it to a 400 with this message (and the
 * details, when a size limit refused it: `{field, limit}`).
 */
export class InvalidRequestError extends Error {
  readonly code = 'request/invalid';
  constructor(
    message: string,
    readonly details?: { field: string; limit: number },
  ) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

export interface NormalizedRequest {
  principal: { id: string; roles: string[]; groups: string[]; attributes: Record<string, unknown> };
  action: string;
  resource: { kind: string; id: string; attributes: Record<string, unknown> };
  context: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw new InvalidRequestError(`${field} must be a list of strings`);
  return value as string[];
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new InvalidRequestError(`${field} must be an object`);
  return value;
}

/**
 * Checks the shape conditions rely on and the size limits (`REQUEST_LIMITS`), and fills
 * the optional parts with empty values, so a condition sees the same fields whatever the
 * caller omitted. Extra fields are ignored here; the HTTP edges reject them.
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
  const problem = requestLimitProblem({
    principal,
    action,
    resource,
    context: (request as unknown as Record<string, unknown>).context,
  } as Parameters<typeof requestLimitProblem>[0]);
  if (problem !== undefined)
    throw new InvalidRequestError(problem.message, { field: problem.field, limit: problem.limit });
  return {
    principal: {
      id: principal.id,
      roles: stringList(principal.roles, 'principal.roles'),
      groups: stringList(principal.groups, 'principal.groups'),
      attributes: record(principal.attributes, 'principal.attributes'),
    },
    action,
    resource: {
      kind: resource.kind,
      id: resource.id,
      attributes: record(resource.attributes, 'resource.attributes'),
    },
    context: record((request as unknown as Record<string, unknown>).context, 'context'),
  };
}
