/**
 * Size limits on a decision request, the same on every API that takes one: the agent's
 * `/v1/decide`, AuthZEN evaluations, `/v1/authz/http`, the Kubernetes webhooks, the SDK, and
 * the control plane's `/v1/check`. They are wire limits, enforced by the one request parser
 * (`parseDecisionRequest`, which the agent's decision point runs before any grant glob is
 * matched, and `checkRequestSchema` on the control plane), so no API can forget them. A request over a limit is refused as a
 * whole (400 naming the field and the limit), never truncated: a truncated id could match a
 * rule the real one does not.
 *
 * Why these numbers (generous for real input, small enough that the work a request can cause
 * stays bounded — matching grant and policy globs is linear in the value's length):
 * - `principalId` 1024: OIDC `sub` is at most 255 ASCII characters, e-mail addresses 254,
 *   Kubernetes service-account names about 320, SPIFFE ids are usually far below 1024.
 * - `action` 512: `k8s:<verb>:<group>/<resource>/<subresource>` with a 253-character API
 *   group still fits; HTTP actions are `http:<METHOD>`.
 * - `resourceKind` 512: kinds are short names (`http`, `k8s:configmaps`).
 * - `resourceId` 4096: Kubernetes ids are `<namespace>/<name>` (at most 317); HTTP paths
 *   longer than 4 KiB are refused by many servers and CDNs already.
 * - `listItems`/`listItemLength` 1024: people in many directory groups (LDAP DNs are long).
 * - `structuredSize` 64 KiB for each of `principal.attributes`, `actionAttributes`,
 *   `resource.attributes` and `context` (about their JSON size), nested at most
 *   `structuredDepth` 32 levels: request metadata and labels, not documents.
 */
export const REQUEST_LIMITS = Object.freeze({
  principalId: 1024,
  action: 512,
  resourceKind: 512,
  resourceId: 4096,
  listItems: 1024,
  listItemLength: 1024,
  structuredSize: 64 * 1024,
  structuredDepth: 32,
});

/** What a limit refused: the field (as the caller named it) and the limit. */
export interface RequestLimitProblem {
  field: string;
  limit: number;
  message: string;
}

/** Renames a decision-input field (`principal.id`) to the API's own name (`subject.id`). */
export type FieldNamer = (field: string) => string;

const same: FieldNamer = (field) => field;

/**
 * The first limit a request breaks, or undefined. Expects the shape already checked (strings
 * where strings belong); other values are left to the shape check. Cost: linear in the
 * request, stopping at the first problem.
 */
export function requestLimitProblem(
  request: {
    principal: { id: string; roles?: unknown; groups?: unknown; attributes?: unknown };
    action: string;
    actionAttributes?: unknown;
    resource: { kind: string; id: string; attributes?: unknown };
    context?: unknown;
  },
  name: FieldNamer = same,
): RequestLimitProblem | undefined {
  const { principal, resource } = request;
  return (
    tooLong(principal.id, REQUEST_LIMITS.principalId, name('principal.id')) ??
    list(principal.roles, 'principal.roles', name) ??
    list(principal.groups, 'principal.groups', name) ??
    structured(principal.attributes, 'principal.attributes', name) ??
    tooLong(request.action, REQUEST_LIMITS.action, name('action')) ??
    structured(request.actionAttributes, 'actionAttributes', name) ??
    tooLong(resource.kind, REQUEST_LIMITS.resourceKind, name('resource.kind')) ??
    tooLong(resource.id, REQUEST_LIMITS.resourceId, name('resource.id')) ??
    structured(resource.attributes, 'resource.attributes', name) ??
    structured(request.context, 'context', name)
  );
}

function tooLong(value: string, limit: number, field: string): RequestLimitProblem | undefined {
  if (value.length <= limit) return undefined;
  return {
    field,
    limit,
    message: `${field} is ${value.length} characters long; the limit is ${limit}`,
  };
}

function list(value: unknown, field: string, name: FieldNamer): RequestLimitProblem | undefined {
  if (!Array.isArray(value)) return undefined;
  const named = name(field);
  if (value.length > REQUEST_LIMITS.listItems)
    return {
      field: named,
      limit: REQUEST_LIMITS.listItems,
      message: `${named} has ${value.length} entries; the limit is ${REQUEST_LIMITS.listItems}`,
    };
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    // The field's name is built only for an item over the limit: this runs on every decision.
    if (typeof item === 'string' && item.length > REQUEST_LIMITS.listItemLength)
      return tooLong(item, REQUEST_LIMITS.listItemLength, `${named}[${i}]`);
  }
  return undefined;
}

/**
 * About the JSON size of an attributes object or the context: keys and strings by their
 * length (plus quotes), other values by a few characters; abandoned as soon as a limit is
 * passed. Recursive, but never deeper than `structuredDepth` (32) frames, so a deeply nested
 * value cannot exhaust the stack. Allocation-free: it runs on every decision.
 */
function structured(
  value: unknown,
  field: string,
  name: FieldNamer,
): RequestLimitProblem | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const size = measure(value, 1, 0);
  if (size >= 0) return undefined;
  const named = name(field);
  return size === TOO_DEEP
    ? {
        field: named,
        limit: REQUEST_LIMITS.structuredDepth,
        message: `${named} is nested more than ${REQUEST_LIMITS.structuredDepth} levels deep`,
      }
    : {
        field: named,
        limit: REQUEST_LIMITS.structuredSize,
        message: `${named} is larger than the limit of ${REQUEST_LIMITS.structuredSize} characters (counted as its JSON size)`,
      };
}

const TOO_DEEP = -1;
const TOO_LARGE = -2;

/** What a member adds by itself (a nested object or array adds its own members later). */
const shallowSize = (item: unknown): number =>
  typeof item === 'string' ? item.length + 2 : item !== null && typeof item === 'object' ? 0 : 5;

/**
 * `size` plus the size of `value` (at nesting level `depth`), or TOO_DEEP / TOO_LARGE. A
 * level's own members are counted before its nested values are entered, so a huge array or
 * object is refused without a walk.
 */
function measure(value: object, depth: number, size: number): number {
  if (depth > REQUEST_LIMITS.structuredDepth) return TOO_DEEP;
  const max = REQUEST_LIMITS.structuredSize;
  let nested = false;
  if (Array.isArray(value)) {
    size += 2 + value.length;
    if (size > max) return TOO_LARGE;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      size += shallowSize(item);
      if (size > max) return TOO_LARGE;
      if (item !== null && typeof item === 'object') nested = true;
    }
    if (nested)
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === null || typeof item !== 'object') continue;
        size = measure(item, depth + 1, size);
        if (size < 0) return size;
      }
    return size;
  }
  size += 2;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    size += key.length + 4 + shallowSize(item);
    if (size > max) return TOO_LARGE;
    if (item !== null && typeof item === 'object') nested = true;
  }
  if (nested)
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const item = (value as Record<string, unknown>)[key];
      if (item === null || typeof item !== 'object') continue;
      size = measure(item, depth + 1, size);
      if (size < 0) return size;
    }
  return size;
}
