/**
 * OIDC sign-in for the console: authorization code + PKCE (RFC 7636) as a public client, in
 * the browser, against the issuer the active stepgate.yaml names (`console.oidc`). The ID
 * token is then the bearer the admin API verifies (issuer, audience, signature, expiry) on
 * every call; the console itself trusts nothing in it but the expiry and nonce it checks here.
 */
import { signIn } from './session';

export interface ConsoleOidcConfig {
  issuer: string;
  clientId: string;
  scopes: string[];
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

const PENDING = 'stepgate.console.oidc-pending';
export const CALLBACK_PATH = '/console/oidc/callback';

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  tokenEndpoint: string;
  clientId: string;
}

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const random = (size = 32): string => base64url(crypto.getRandomValues(new Uint8Array(size)));

function redirectUri(): string {
  return `${location.origin}${CALLBACK_PATH}`;
}

/** Sends the browser to the issuer's authorization endpoint. */
export async function startOidcSignIn(config: ConsoleOidcConfig): Promise<void> {
  const verifier = random(48);
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const pending: Pending = {
    verifier,
    state: random(),
    nonce: random(),
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(config.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scopes.join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/**
 * The issuer sent the browser back: check the state, exchange the code (with the PKCE
 * verifier) for tokens, check the ID token's nonce, and sign in with it.
 * @throws Error with a readable message when anything is off.
 */
export async function completeOidcSignIn(search: string): Promise<void> {
  const params = new URLSearchParams(search);
  const text = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (params.get('error'))
    throw new Error(
      `the identity provider refused the sign-in: ${params.get('error')}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`,
    );
  if (!text) throw new Error('no sign-in was started in this tab; start again');
  const pending = JSON.parse(text) as Pending;
  const code = params.get('code');
  if (!code || params.get('state') !== pending.state)
    throw new Error('the sign-in answer does not match the request made (state); start again');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
    credentials: 'omit',
  });
  const body = (await response.json().catch(() => ({}))) as {
    id_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.id_token)
    throw new Error(
      `the identity provider did not issue an ID token: ${body.error ?? response.status}${body.error_description ? ` (${body.error_description})` : ''}`,
    );
  const claims = decodeClaims(body.id_token);
  if (claims.nonce !== pending.nonce)
    throw new Error('the ID token was not issued for this sign-in (nonce); start again');
  signIn({
    token: body.id_token,
    kind: 'oidc',
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp * 1000 } : {}),
  });
}

function decodeClaims(jwt: string): { nonce?: string; exp?: number } {
  const payload = jwt.split('.')[1] ?? '';
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as { nonce?: string; exp?: number };
  } catch {
    throw new Error('the identity provider answered an ID token that is not a JWT');
  }
}
