import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { StepgateError } from '@stepgate/protocol';

/**
 * The outer shape of a browser's credential JSON, checked before any cryptography so a
 * malformed body is a 400 naming the field; the contents are @simplewebauthn's to verify.
 */
function credentialJson(
  value: Record<string, unknown>,
  fields: readonly string[],
): { id: string; clientDataJSON: string } {
  const problems: { path: string; message: string }[] = [];
  const text = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 65_536;
  if (!text(value.id)) problems.push({ path: 'response.id', message: 'base64url string expected' });
  if (!text(value.rawId))
    problems.push({ path: 'response.rawId', message: 'base64url string expected' });
  if (value.type !== 'public-key')
    problems.push({ path: 'response.type', message: 'must be "public-key"' });
  const inner = value.response;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    problems.push({ path: 'response.response', message: 'object expected' });
  } else {
    for (const field of fields) {
      if (!text((inner as Record<string, unknown>)[field]))
        problems.push({ path: `response.response.${field}`, message: 'base64url string expected' });
    }
  }
  const first = problems[0];
  if (first) {
    throw new StepgateError(
      'request/invalid',
      `invalid WebAuthn credential: ${first.path}: ${first.message} (send the PublicKeyCredential's JSON as "response")`,
      problems,
    );
  }
  return {
    id: value.id as string,
    clientDataJSON: (inner as { clientDataJSON: string }).clientDataJSON,
  };
}

export function registrationResponse(value: Record<string, unknown>): {
  json: RegistrationResponseJSON;
  clientDataJSON: string;
} {
  const { clientDataJSON } = credentialJson(value, ['clientDataJSON', 'attestationObject']);
  return {
    json: { clientExtensionResults: {}, ...value } as unknown as RegistrationResponseJSON,
    clientDataJSON,
  };
}

export function authenticationResponse(value: Record<string, unknown>): {
  json: AuthenticationResponseJSON;
  credentialId: string;
  clientDataJSON: string;
} {
  const { id, clientDataJSON } = credentialJson(value, [
    'clientDataJSON',
    'authenticatorData',
    'signature',
  ]);
  return {
    json: { clientExtensionResults: {}, ...value } as unknown as AuthenticationResponseJSON,
    credentialId: id,
    clientDataJSON,
  };
}
