import type { DecisionRequest } from '@stepgate/policy';
import type { Principal } from '../common/scopes.js';

/** Where the principal of a check came from (CheckResponse `principal.source`). */
export type PrincipalSource = 'token' | 'id-token' | 'asked';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const union = (...lists: readonly string[][]): string[] => [...new Set(lists.flat())];

/**
 * The roles and groups the policy data gives `id` (`data.people.<id>: {roles, groups}`, the
 * file `data/people.yaml` of the policy repository): who may do what is the policy
 * repository's to say, reviewed like any policy change, never the caller's.
 */
export function peopleRoles(
  data: Readonly<Record<string, unknown>>,
  id: string,
): { roles: string[]; groups: string[] } {
  const people = data.people;
  const entry = isRecord(people) && Object.hasOwn(people, id) ? people[id] : undefined;
  if (!isRecord(entry)) return { roles: [], groups: [] };
  return { roles: strings(entry.roles), groups: strings(entry.groups) };
}

/**
 * The principal the control plane decides for when `caller` asks about itself: the token's
 * subject, or the verified ID token's mapped id with its claims (a CI job's repository,
 * environment, ref, actor... as attributes; roles and groups when `issuers:` maps them), plus
 * the roles and groups of the policy data.
 */
export function callerPrincipal(
  caller: Principal,
  data: Readonly<Record<string, unknown>>,
): DecisionRequest['principal'] {
  const fromData = peopleRoles(data, caller.subject);
  const identity = caller.identity;
  return {
    id: caller.subject,
    roles: union(identity?.roles ?? [], fromData.roles),
    groups: union(identity?.groups ?? [], fromData.groups),
    ...(identity?.attributes ? { attributes: identity.attributes } : {}),
  };
}

/** Another principal, asked about with `check:any`: what the policy data says of them only. */
export function askedPrincipal(
  id: string,
  data: Readonly<Record<string, unknown>>,
): DecisionRequest['principal'] {
  return { id, ...peopleRoles(data, id) };
}
