import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import type { Credential } from '../auth/session';
import { signOut } from '../auth/session';
import { PAGES } from '../pages';

/** The frame of every signed-in page: skip link, header, navigation, main landmark. */
export function Shell({ credential, children }: { credential: Credential; children: ReactNode }) {
  const [location] = useLocation();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <span className="brand">Stepgate</span>
        <span className="who">
          Signed in with {credential.kind === 'oidc' ? 'your identity provider' : 'an API token'}
        </span>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <div className="layout">
        <nav aria-label="Console pages" className="side-nav">
          <ul>
            {PAGES.map((page) => {
              const href = page.path.replace(/\/\*\?$/, '');
              const current = location === href || location.startsWith(`${href}/`);
              return (
                <li key={href}>
                  <Link href={href} aria-current={current ? 'page' : undefined}>
                    {page.title}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </>
  );
}
