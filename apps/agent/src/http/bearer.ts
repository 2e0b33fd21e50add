import type { IncomingMessage } from 'node:http';
import {
  TokenVerificationError,
  type TokenVerifier,
  type VerifiedToken,
} from '@stepgate/agent-core';

/**
 * A bearer token was presented and refused: answered `401` with
 * `WWW-Authenticate: Bearer error="invalid_token", error_description="..."` (RFC 6750 §3.1).
 */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** The `Authorization: Bearer` token, undefined when there is none (or another scheme is used). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  if (value === undefined || value === '') return undefined;
  const match = /^Bearer(?:\s+(.*))?$/i.exec(value.trim());
  // Other schemes (Basic for the upstream...) are not ours to judge: the caller stays anonymous.
  if (!match) return undefined;
  const token = match[1]?.trim() ?? '';
  if (token === '' || /\s/.test(token))
    throw new InvalidTokenError('the Authorization header must be "Bearer <token>"');
  return token;
}

/**
 * The caller's verified token, or undefined when none was presented (or no issuer is trusted).
 * @throws InvalidTokenError when a bearer token is presented and does not verify.
 */
export async function verifiedCaller(
  req: IncomingMessage,
  verifier: TokenVerifier | undefined,
): Promise<VerifiedToken | undefined> {
  // With no issuer in the active bundle, bearer tokens are not ours to judge (an upstream
  // app's own API tokens, say): ignoring one can only mean less evidence, never more.
  if (verifier === undefined || !verifier.hasIssuers) return undefined;
  const token = bearerToken(req);
  if (token === undefined) return undefined;
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof TokenVerificationError) throw new InvalidTokenError(error.message);
    throw error;
  }
}

/** The RFC 6750 challenge for a refused token. */
export function invalidTokenChallenge(description: string): string {
  const clean = description.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 300);
  return `Bearer error="invalid_token", error_description="${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The evidence a token contributes to a request that names its own principal (`/v1/decide`,
 * AuthZEN): only when the token is that principal's.
 * @throws InvalidTokenError when the token belongs to someone else.
 */
export function evidenceForPrincipal(
  caller: VerifiedToken | undefined,
  principalId: string,
): VerifiedToken['evidence'] | undefined {
  if (caller === undefined) return undefined;
  if (caller.principal.id !== principalId)
    throw new InvalidTokenError(
      'the bearer token belongs to a different principal than principal.id (subject.id) in the body',
    );
  return caller.evidence;
}
