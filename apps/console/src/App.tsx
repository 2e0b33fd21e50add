import { useEffect, useState } from 'react';
import { Redirect, Route, Router, Switch } from 'wouter';
import { OidcCallback } from './auth/OidcCallback';
import { CALLBACK_PATH } from './auth/oidc';
import { currentCredential, onCredentialChange, type Credential } from './auth/session';
import { SignIn } from './auth/SignIn';
import { Shell } from './components/Shell';
import { StepUpDialog } from './components/StepUpDialog';
import { PAGES } from './pages';

/** The console under /console: the sign-in page until a credential is held, then the pages. */
export function App() {
  const [credential, setCredential] = useState<Credential | undefined>(currentCredential);
  useEffect(() => onCredentialChange(setCredential), []);
  const [callback] = useState(() => location.pathname === CALLBACK_PATH);
  if (callback && credential === undefined) return <OidcCallback />;
  return (
    <Router base="/console">
      {credential === undefined ? (
        <SignIn />
      ) : (
        <Shell credential={credential}>
          <Switch>
            {PAGES.map((page) => (
              <Route key={page.path} path={page.path} component={page.component} />
            ))}
            <Route path="/">
              <Redirect to="/overview" replace />
            </Route>
            <Route>
              <NotFound />
            </Route>
          </Switch>
          <StepUpDialog />
        </Shell>
      )}
    </Router>
  );
}

function NotFound() {
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>This page does not exist in the console. Pick one from the navigation.</p>
    </section>
  );
}
