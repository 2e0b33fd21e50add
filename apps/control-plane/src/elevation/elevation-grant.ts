import type { GrantScope } from '@stepgate/protocol';
import type { IssueGrantInput } from '../grants/grants.service.js';

/**
 * Only people elevate: a token must hold a human scope (admin implies every scope).
 * Agent-only tokens are machines and have no second factor to prove.
 */
export const HUMAN_SCOPES = ['viewer', 'operator', 'approver'] as const;

/** The grant an accepted elevation asks for: the caller's subject, proven methods, asked scope. */
export function elevationGrant(
  subject: string,
  method: 'totp' | 'webauthn',
  amr: string[],
  scope: GrantScope,
  actor: string,
  authTime: Date,
): IssueGrantInput {
  const input: IssueGrantInput = {
    subject,
    kind: 'elevation',
    method,
    amr,
    authTime,
    approvals: [],
    actor,
  };
  if (scope.actions) input.actions = scope.actions;
  if (scope.resources) input.resources = scope.resources;
  if (scope.ttlSeconds !== undefined) input.ttlSeconds = scope.ttlSeconds;
  return input;
}

/** Only the scope fields of a request body (never the code or the WebAuthn response). */
export function scopeOf(body: GrantScope): GrantScope {
  const scope: GrantScope = {};
  if (body.actions) scope.actions = body.actions;
  if (body.resources) scope.resources = body.resources;
  if (body.ttlSeconds !== undefined) scope.ttlSeconds = body.ttlSeconds;
  return scope;
}
