import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ApiError, setStepUpHandler } from '../api/client';
import { elevateWithPasskey, elevateWithTotp } from '../api/elevation';
import { ErrorMessage } from './ErrorMessage';
import { Modal } from './Modal';

interface StepUpDetails {
  action?: string;
  resource?: string;
  require?: { level?: string; maxAge?: number; approvals?: number };
  unmet?: string[];
}

/**
 * Protected actions (activation, rollback, token creation…) may answer 401
 * auth/step_up_required. This dialog asks for a passkey or a TOTP code right here, gets a grant
 * scoped to exactly that action and resource, and lets the API client retry the action.
 */
export function StepUpDialog() {
  const [pending, setPending] = useState<ApiError>();
  const settle = useRef<(elevated: boolean) => void>(undefined);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setStepUpHandler(
      (demand) =>
        new Promise<boolean>((resolve) => {
          settle.current = resolve;
          setCode('');
          setError(undefined);
          setPending(demand);
        }),
    );
    return () => setStepUpHandler(undefined);
  }, []);

  const finish = (elevated: boolean) => {
    setPending(undefined);
    settle.current?.(elevated);
    settle.current = undefined;
  };
  const details = (pending?.details ?? {}) as StepUpDetails;
  const scope = {
    ...(details.action ? { actions: [details.action] } : {}),
    ...(details.resource ? { resources: [details.resource] } : {}),
  };
  const needsApprovals =
    details.require?.approvals !== undefined && (details.unmet ?? []).includes('approvals');
  const elevate = async (how: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await how();
      finish(true);
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
    <Modal open={pending !== undefined} title="Step-up required" onClose={() => finish(false)}>
      <p>{pending?.message}</p>
      {needsApprovals ? (
        <p>
          This action needs {details.require?.approvals} approval(s) from other people.{' '}
          <Link href="/approvals" onClick={() => finish(false)}>
            Ask for approval
          </Link>
          , then retry.
        </p>
      ) : (
        <>
          <div className="actions">
            <button
              type="button"
              disabled={busy}
              onClick={() => elevate(() => elevateWithPasskey(scope))}
            >
              Use a passkey
            </button>
          </div>
          <form onSubmit={submitCode} className="inline-form">
            <label htmlFor="step-up-code">Or a code from your authenticator app</label>
            <input
              id="step-up-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              maxLength={6}
              value={code}
              onChange={(event) => setCode(event.target.value.trim())}
            />
            <button type="submit" disabled={busy || !/^\d{6}$/.test(code)}>
              Verify code
            </button>
          </form>
        </>
      )}
      <ErrorMessage error={error} title="Elevation failed" />
      <div className="actions">
        <button type="button" className="secondary" onClick={() => finish(false)}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}
