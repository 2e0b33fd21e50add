import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { useTitle } from '../components/useTitle';
import { startOidcSignIn, type ConsoleOidcConfig } from './oidc';
import { signIn } from './session';

/**
 * Sign-in with an API token (`stepgate token create …`). The token is checked against the API
 * before it is kept, so a typo gets a message instead of a console full of errors.
 */
export function SignIn() {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // Public: whether the active stepgate.yaml declares a console issuer.
  const config = useQuery({
    queryKey: ['console-config'],
    queryFn: ({ signal }) =>
      api<{ oidc: ConsoleOidcConfig | null }>('/v1/console/config', { signal }),
  });
  const oidc = config.data?.oidc ?? null;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch('/v1/versions?limit=1', {
        headers: { authorization: `Bearer ${token.trim()}`, accept: 'application/json' },
        credentials: 'omit',
      });
      if (response.status === 401)
        throw new ApiError(401, 'auth/unauthenticated', 'This token is not valid or was revoked.');
      // A token without viewer scope (an approver's, say) may still use the pages it is for.
      if (!response.ok && response.status !== 403) {
        const body = (await response.json().catch(() => ({}))) as { message?: string };
        throw new ApiError(response.status, 'http', body.message ?? response.statusText);
      }
      signIn({ token: token.trim(), kind: 'token' });
    } catch (failure) {
      setError(
        failure instanceof ApiError
          ? failure
          : new ApiError(0, 'network', 'The control plane cannot be reached.'),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Stepgate</h1>
      {oidc ? (
        <div className="oidc-sign-in">
          <button
            type="button"
            onClick={() => startOidcSignIn(oidc).catch((failure: unknown) => setError(failure))}
          >
            Sign in with {new URL(oidc.issuer).host}
          </button>
          <p className="muted">Or with an API token:</p>
        </div>
      ) : null}
      <form onSubmit={submit}>
        <label htmlFor="token-input">API token</label>
        <input
          id="token-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" className="muted">
          A token from <code>POST /v1/tokens</code> (with a subject, so step-ups and approvals are
          yours). It is kept in this tab only and forgotten when the tab closes.
        </p>
        <ErrorMessage error={error} title="Sign-in failed" />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
