import { SetMetadata } from '@nestjs/common';
import { SCOPE_NAMES } from '@stepgate/protocol';

/** The protocol's list: tokens are created with these, routes require them. */
export const SCOPES = SCOPE_NAMES;
export type Scope = (typeof SCOPES)[number];

export const REQUIRED_SCOPES = 'stepgate:scopes';
export const PUBLIC_ROUTE = 'stepgate:public';

/**
 * The route needs a bearer token holding at least one of these scopes; `admin` holds all.
 * Routes without this decorator and without @Public() are refused by the guard, so a new
 * route is closed until someone decides who may call it.
 */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(REQUIRED_SCOPES, scopes);

/** The route needs no token (health, metrics, docs, HMAC-verified webhooks). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Who made a request, for audit rows. */
export interface Principal {
  tokenId: string;
  name: string;
  /** The principal id the token acts for in grants, approvals and elevation. */
  subject: string;
  scopes: Scope[];
  /**
   * How the caller signed in: a Stepgate API token (absent: every token principal), or an
   * ID token of the console's OIDC issuer (then `tokenId` is `oidc:<subject>`, no row).
   */
  authMethod?: 'oidc';
}

export function hasScope(principal: Principal, wanted: readonly Scope[]): boolean {
  return (
    principal.scopes.includes('admin') || wanted.some((scope) => principal.scopes.includes(scope))
  );
}

/** The audit actor: `token:<token name>`, or `oidc:<subject>` for a console OIDC sign-in. */
export function actorOf(principal: Principal): string {
  return principal.authMethod === 'oidc' ? `oidc:${principal.subject}` : `token:${principal.name}`;
}
