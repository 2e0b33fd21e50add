import { describe, expect, it } from 'vitest';
import { bearerChallenge } from './http-exception.filter.js';

const request = (authorization?: string) => ({
  headers: authorization === undefined ? {} : { authorization },
});

describe('bearerChallenge (RFC 6750, RFC 9470)', () => {
  it('names no error when no token was sent', () => {
    const body = { error: 'auth/unauthenticated', message: 'missing bearer token' };
    expect(bearerChallenge(body, request())).toBe('Bearer realm="stepgate"');
    expect(bearerChallenge(body, request('Basic eDp5'))).toBe('Bearer realm="stepgate"');
  });

  it('says invalid_token when a token was sent and refused', () => {
    expect(
      bearerChallenge(
        { error: 'auth/unauthenticated', message: 'invalid or revoked token' },
        request('Bearer sg_wrong'),
      ),
    ).toBe(
      'Bearer realm="stepgate", error="invalid_token", error_description="invalid or revoked token"',
    );
  });

  it('says insufficient_user_authentication for a step-up, with max_age', () => {
    const challenge = bearerChallenge(
      {
        error: 'auth/step_up_required',
        message: 'stepgate:activate needs a step-up of "alice" (mfa)\n',
        details: { require: { level: 'mfa', maxAge: 300 } },
      },
      request('Bearer sg_ok'),
    );
    expect(challenge).toBe(
      `Bearer realm="stepgate", error="insufficient_user_authentication", max_age=300, error_description="stepgate:activate needs a step-up of 'alice' (mfa)'"`,
    );
  });

  it('gives other 401s (a wrong TOTP code, a bad webhook signature) the bare challenge', () => {
    for (const error of ['elevation/invalid_code', 'webhook/bad_signature'])
      expect(bearerChallenge({ error, message: 'no' }, request('Bearer sg_ok'))).toBe(
        'Bearer realm="stepgate"',
      );
  });
});
