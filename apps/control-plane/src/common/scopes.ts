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

export const ACCEPTS_ID_TOKENS = 'stepgate:id-tokens';

/**
 * Besides tokens with the route's scopes, the route takes an OIDC token of an issuer the active
 * policies trust (`issuers:` in stepgate.yaml: a GitHub Actions or GitLab CI job's ID token),
 * as the identity of its principal only: `/v1/check` and opening an approval request.
 */
export const AcceptsIdTokens = () => SetMetadata(ACCEPTS_ID_TOKENS, true);

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
  authMethod?: 'oidc' | 'id-token';
  /**
   * With `authMethod: 'id-token'`: an OIDC token of an issuer in the active version's
   * `issuers:` (a CI job's, or an IdP's), verified like an agent verifies bearer tokens. Only
   * routes marked @AcceptsIdTokens() take one; `subject` is its mapped principal id.
   */
  identity?: VerifiedIdentity;
}

/** What a verified OIDC token says about its principal (claims mapped by `issuers:`). */
export interface VerifiedIdentity {
  issuer: string;
  roles?: string[];
  groups?: string[];
  attributes?: Record<string, unknown>;
}

export function hasScope(principal: Principal, wanted: readonly Scope[]): boolean {
  return (
    principal.scopes.includes('admin') || wanted.some((scope) => principal.scopes.includes(scope))
  );
}

/** The audit actor: `token:<token name>`, or `oidc:<subject>` for a console OIDC sign-in. */
export function actorOf(principal: Principal): string {
  if (principal.authMethod === 'id-token') return `id-token:${principal.subject}`;
  return principal.authMethod === 'oidc' ? `oidc:${principal.subject}` : `token:${principal.name}`;
}
