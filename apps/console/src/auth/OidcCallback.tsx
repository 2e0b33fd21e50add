import { useEffect, useRef, useState } from 'react';
import { ErrorMessage } from '../components/ErrorMessage';
import { useTitle } from '../components/useTitle';
import { completeOidcSignIn } from './oidc';

/** Where the identity provider sends the browser back: finish the sign-in, then the overview. */
export function OidcCallback() {
  useTitle('Signing in');
  const [error, setError] = useState<unknown>();
  const started = useRef(false);
  useEffect(() => {
    // Once: a code can be exchanged only once (StrictMode runs effects twice in development).
    if (started.current) return;
    started.current = true;
    const search = location.search;
    // Leave the callback URL (and its code) before anything renders the pages.
    history.replaceState(null, '', '/console/overview');
    completeOidcSignIn(search).catch((failure: unknown) => {
      history.replaceState(null, '', '/console/');
      setError(failure);
    });
  }, []);
  return (
    <main id="main" className="sign-in">
      <h1>Signing in…</h1>
      <ErrorMessage error={error} title="Sign-in failed" />
      {error ? <a href="/console/">Back to the sign-in page</a> : null}
    </main>
  );
}
