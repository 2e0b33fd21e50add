/**
 * Elevation in the browser: a TOTP code, or a passkey through WebAuthn
 * (@simplewebauthn/browser drives navigator.credentials). Each returns the grant the control
 * plane minted; the API then finds it for the caller's subject, so a retried action passes.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import type { GrantScope, GrantView } from '@stepgate/protocol';
import { api } from './client';

export function elevateWithTotp(code: string, scope: GrantScope = {}): Promise<GrantView> {
  return api<GrantView>('/v1/elevation/totp', { method: 'POST', body: { ...scope, code } });
}

export async function elevateWithPasskey(scope: GrantScope = {}): Promise<GrantView> {
  const optionsJSON = await api<Parameters<typeof startAuthentication>[0]['optionsJSON']>(
    '/v1/elevation/webauthn/authentication/options',
    { method: 'POST', body: scope },
  );
  const response = await startAuthentication({ optionsJSON });
  return api<GrantView>('/v1/elevation/webauthn/authentication', {
    method: 'POST',
    body: { response },
  });
}

/** Registers a passkey; a first factor needs the enrolment code an admin issued. */
export async function enrolPasskey(enrolmentCode?: string): Promise<void> {
  const optionsJSON = await api<Parameters<typeof startRegistration>[0]['optionsJSON']>(
    '/v1/elevation/webauthn/registration/options',
    { method: 'POST', body: enrolmentCode ? { enrolmentCode } : {} },
  );
  const response = await startRegistration({ optionsJSON });
  await api('/v1/elevation/webauthn/registration', { method: 'POST', body: { response } });
}
