import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { StepgateError } from '@stepgate/protocol';
import type { AuthenticatedRequest } from '../common/authenticated-request.js';
import { hasScope, PUBLIC_ROUTE, REQUIRED_SCOPES, type Scope } from '../common/scopes.js';
import { TokenService } from './token.service.js';

/** Bearer token from the Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Global guard: every route is closed unless marked @Public() or @RequireScopes(...).
 * 401 without a valid token, 403 when the token lacks the scope.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
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
    const principal = await this.tokens.authenticate(token);
    if (!principal) throw new StepgateError('auth/unauthenticated', 'invalid or revoked token');
    if (scopes.length === 0 || !hasScope(principal, scopes)) {
      throw new StepgateError(
        'auth/forbidden',
        `this token lacks the required scope (${scopes.join(' or ') || 'admin'})`,
      );
    }
    request.principal = principal;
    return true;
  }
}
