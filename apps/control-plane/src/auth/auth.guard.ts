import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { StepgateError } from '@stepgate/protocol';
import type { AuthenticatedRequest } from '../common/authenticated-request.js';
import {
  ACCEPTS_ID_TOKENS,
  hasScope,
  PUBLIC_ROUTE,
  REQUIRED_SCOPES,
  type Principal,
  type Scope,
} from '../common/scopes.js';
import { ConsoleTokenService, looksLikeJwt } from '../console-auth/console-token.service.js';
import { IdTokenService } from '../id-tokens/id-token.service.js';
import { TokenService } from './token.service.js';

/** Bearer token from the Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Global guard: every route is closed unless marked @Public() or @RequireScopes(...).
 * 401 without a valid token, 403 when the token lacks the scope. The token is a Stepgate API
 * token, or the console's OIDC ID token when stepgate.yaml declares `console.oidc`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly consoleTokens: ConsoleTokenService,
    private readonly idTokens: IdTokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const scopes =
      this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets) ?? [];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token)
      throw new StepgateError(
        'auth/unauthenticated',
        'missing bearer token: send "Authorization: Bearer <token>"',
      );
    // An ID token of a trusted issuer (a CI job's) stands for its own principal, on the routes
    // that take one only, and never holds a scope.
    if (
      this.reflector.getAllAndOverride<boolean>(ACCEPTS_ID_TOKENS, targets) &&
      looksLikeJwt(token) &&
      (await this.idTokens.isIdToken(token))
    ) {
      request.principal = await this.idTokens.authenticate(token);
      return true;
    }
    const principal = await this.authenticate(token);
    if (scopes.length === 0 || !hasScope(principal, scopes)) {
      throw new StepgateError(
        'auth/forbidden',
        principal.authMethod === 'oidc'
          ? `${principal.subject} (signed in with OIDC: ${principal.scopes.join(', ')}) lacks the required scope (${scopes.join(' or ') || 'admin'})`
          : `this token lacks the required scope (${scopes.join(' or ') || 'admin'})`,
      );
    }
    request.principal = principal;
    return true;
  }

  /**
   * A JWT is a console sign-in when the active version declares a console issuer (Stepgate
   * API tokens are `sg_...`, never three dotted segments); everything else is an API token.
   */
  private async authenticate(token: string): Promise<Principal> {
    if (looksLikeJwt(token)) {
      const principal = await this.consoleTokens.authenticate(token);
      if (principal) return principal;
    }
    const principal = await this.tokens.authenticate(token);
    if (!principal) throw new StepgateError('auth/unauthenticated', 'invalid or revoked token');
    return principal;
  }
}
