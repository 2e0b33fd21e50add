import type { IncomingMessage } from 'node:http';
import { TokenVerifier } from '@stepgate/agent-core';
import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  evidenceForPrincipal,
  InvalidTokenError,
  invalidTokenChallenge,
  verifiedCaller,
} from './bearer.js';

const req = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('bearer tokens', () => {
  it('reads the Bearer scheme only', () => {
    expect(bearerToken(req())).toBeUndefined();
    expect(bearerToken(req('Basic YWxpY2U6cHc='))).toBeUndefined();
    expect(bearerToken(req('bearer   abc.def.ghi '))).toBe('abc.def.ghi');
    expect(() => bearerToken(req('Bearer'))).toThrow(InvalidTokenError);
    expect(() => bearerToken(req('Bearer a b'))).toThrow(/"Bearer <token>"/);
  });

  it('leaves tokens alone when the active bundle trusts no issuer', async () => {
    const verifier = new TokenVerifier({ store: { active: undefined } });
    expect(await verifiedCaller(req('Bearer not-a-jwt'), verifier)).toBeUndefined();
    expect(await verifiedCaller(req('Bearer not-a-jwt'), undefined)).toBeUndefined();
  });

  it('writes an RFC 6750 challenge with a quoted, printable description', () => {
    expect(invalidTokenChallenge('the "token" has expired\n\u00e9')).toBe(
      'Bearer error="invalid_token", error_description="the \\"token\\" has expired "',
    );
  });

  it('applies a token only to its own principal', () => {
    const token = {
      principal: { id: 'alice' },
      evidence: { acr: 'urn:stepgate:mfa' },
      issuer: {} as never,
    };
    expect(evidenceForPrincipal(token, 'alice')).toEqual({ acr: 'urn:stepgate:mfa' });
    expect(evidenceForPrincipal(undefined, 'alice')).toBeUndefined();
    expect(() => evidenceForPrincipal(token, 'bob')).toThrow(/different principal/);
  });
});
