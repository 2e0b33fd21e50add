/**
 * The signed-in credential: an API token pasted once, or an OIDC ID token. It lives in
 * sessionStorage only — gone when the tab closes, never in localStorage or a cookie (a cookie
 * would also make the API reachable by cross-site requests).
 */
const KEY = 'stepgate.console.credential';

export interface Credential {
  /** What the API receives as `Authorization: Bearer <token>`. */
  token: string;
  /** How it was obtained, shown in the header. */
  kind: 'token' | 'oidc';
  /** OIDC: when the ID token expires (epoch ms). */
  expiresAt?: number;
}

type Listener = (credential: Credential | undefined) => void;
const listeners = new Set<Listener>();

export function currentCredential(): Credential | undefined {
  const text = sessionStorage.getItem(KEY);
  if (!text) return undefined;
  try {
    const credential = JSON.parse(text) as Credential;
    if (credential.expiresAt !== undefined && credential.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return undefined;
    }
    return credential;
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

export function signIn(credential: Credential): void {
  sessionStorage.setItem(KEY, JSON.stringify(credential));
  for (const listener of listeners) listener(credential);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(undefined);
}

export function onCredentialChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
