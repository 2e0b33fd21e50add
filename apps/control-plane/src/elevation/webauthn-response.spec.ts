import { StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { authenticationResponse, registrationResponse } from './webauthn-response.js';

const assertion = {
  id: 'Y3JlZA',
  rawId: 'Y3JlZA',
  type: 'public-key',
  response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
};

function problemPaths(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StepgateError);
    expect((error as StepgateError).code).toBe('request/invalid');
    return ((error as StepgateError).details as { path: string }[]).map((p) => p.path);
  }
  throw new Error('expected a request/invalid error');
}

describe('WebAuthn credential JSON shape', () => {
  it('accepts a well-formed assertion and fills in clientExtensionResults', () => {
    const parsed = authenticationResponse(assertion);
    expect(parsed.credentialId).toBe('Y3JlZA');
    expect(parsed.clientDataJSON).toBe('e30');
    expect(parsed.json.clientExtensionResults).toEqual({});
  });

  it('names every missing or mistyped field', () => {
    expect(
      problemPaths(() =>
        authenticationResponse({ ...assertion, type: 'password', response: { signature: 1 } }),
      ),
    ).toEqual([
      'response.type',
      'response.response.clientDataJSON',
      'response.response.authenticatorData',
      'response.response.signature',
    ]);
    expect(problemPaths(() => authenticationResponse({ response: [] }))).toEqual([
      'response.id',
      'response.rawId',
      'response.type',
      'response.response',
    ]);
  });

  it('requires the attestation object for a registration', () => {
    expect(
      problemPaths(() =>
        registrationResponse({ ...assertion, response: { clientDataJSON: 'e30' } }),
      ),
    ).toEqual(['response.response.attestationObject']);
  });
});
