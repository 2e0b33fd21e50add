import type { GrantScope, GrantView } from '@stepgate/protocol';
import { useState, type FormEvent } from 'react';
import { elevateWithPasskey, elevateWithTotp } from '../../api/elevation';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';

/**
 * Elevates with a passkey or a TOTP code, optionally for one action and resource (patterns,
 * as a policy's grant scope) and a lifetime: the grant reaches every agent at once.
 */
export function ElevateForm({ onGranted }: { onGranted: () => void }) {
  const [action, setAction] = useState('');
  const [resource, setResource] = useState('');
  const [minutes, setMinutes] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [granted, setGranted] = useState<GrantView>();

  const scope: GrantScope = {
    ...(action.trim() ? { actions: [action.trim()] } : {}),
    ...(resource.trim() ? { resources: [resource.trim()] } : {}),
    ...(minutes ? { ttlSeconds: Math.round(Number(minutes) * 60) } : {}),
  };
  const elevate = async (how: () => Promise<GrantView>) => {
    setBusy(true);
    setError(undefined);
    setGranted(undefined);
    try {
      setGranted(await how());
      setCode('');
      onGranted();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const submitCode = (event: FormEvent) => {
    event.preventDefault();
    void elevate(() => elevateWithTotp(code, scope));
  };

  return (
    <section aria-labelledby="elevate-title" className="step-up-panel">
      <h2 id="elevate-title">Elevate</h2>
      <div className="step-up-form">
        <div>
          <label htmlFor="elevate-action">Action (optional)</label>
          <input
            id="elevate-action"
            value={action}
            onChange={(event) => setAction(event.target.value)}
            placeholder="e.g. deploy"
            aria-describedby="elevate-scope-help"
          />
        </div>
        <div>
          <label htmlFor="elevate-resource">Resource (optional)</label>
          <input
            id="elevate-resource"
            value={resource}
            onChange={(event) => setResource(event.target.value)}
            placeholder="e.g. prod/**"
            aria-describedby="elevate-scope-help"
          />
        </div>
        <div>
          <label htmlFor="elevate-minutes">Lifetime (minutes, optional)</label>
          <input
            id="elevate-minutes"
            type="number"
            min={1}
            max={1440}
            value={minutes}
            onChange={(event) => setMinutes(event.target.value)}
          />
        </div>
      </div>
      <p id="elevate-scope-help" className="muted">
        Empty: the grant covers every action and resource for the default lifetime. Globs such as
        prod/** are allowed.
      </p>
      <div className="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() => elevate(() => elevateWithPasskey(scope))}
        >
          Elevate with a passkey
        </button>
      </div>
      <form onSubmit={submitCode} className="inline-form">
        <label htmlFor="elevate-code">Or a code from your authenticator app</label>
        <input
          id="elevate-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="\d{6}"
          maxLength={6}
          value={code}
          onChange={(event) => setCode(event.target.value.trim())}
        />{' '}
        <button type="submit" disabled={busy || !/^\d{6}$/.test(code)}>
          Elevate with the code
        </button>
      </form>
      <ErrorMessage error={error} title="Elevation failed" />
      <div aria-live="polite">
        {granted ? (
          <p className="step-up-notice">
            Elevated with {granted.method === 'webauthn' ? 'a passkey' : 'an authenticator code'}{' '}
            until <Time at={granted.expiresAt} />.
          </p>
        ) : null}
      </div>
    </section>
  );
}
