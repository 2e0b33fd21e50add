import type { TotpEnrollResponse } from '@stepgate/protocol';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { enrolPasskey } from '../../api/elevation';
import { ErrorMessage } from '../ErrorMessage';

/**
 * Enrols a factor to elevate with: a passkey (WebAuthn) or an authenticator app (TOTP). The
 * first factor needs the one-time enrolment code an admin issued; a further one needs a recent
 * elevation instead (the API says so, and the step-up dialog then asks for it).
 */
export function EnrolFactors() {
  const [enrolmentCode, setEnrolmentCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  const [totp, setTotp] = useState<TotpEnrollResponse>();
  const [confirmCode, setConfirmCode] = useState('');

  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await work());
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const code = enrolmentCode.trim() || undefined;

  const passkey = () =>
    run(async () => {
      await enrolPasskey(code);
      setEnrolmentCode('');
      return 'Passkey enrolled. You can elevate with it now.';
    });
  const startTotp = () =>
    run(async () => {
      const enrolled = await api<TotpEnrollResponse>('/v1/elevation/totp/enroll', {
        method: 'POST',
        body: code ? { enrolmentCode: code } : {},
      });
      setTotp(enrolled);
      setEnrolmentCode('');
      return 'Add the secret below to your authenticator app, then confirm with its first code.';
    });
  const confirmTotp = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api('/v1/elevation/totp/confirm', { method: 'POST', body: { code: confirmCode } });
      setTotp(undefined);
      setConfirmCode('');
      return 'Authenticator app confirmed. Its next code elevates you.';
    });
  };

  return (
    <section aria-labelledby="enrol-title" className="step-up-panel">
      <h2 id="enrol-title">Enrol a factor</h2>
      <label htmlFor="enrolment-code">Enrolment code (needed for your first factor)</label>
      <input
        id="enrolment-code"
        className="enrolment-code-input"
        autoComplete="off"
        spellCheck={false}
        value={enrolmentCode}
        onChange={(event) => setEnrolmentCode(event.target.value)}
        aria-describedby="enrolment-code-help"
      />
      <p id="enrolment-code-help" className="muted">
        An admin issues it (stepgate enrolment-codes create &lt;you&gt;). Leave it empty to add a
        further factor after elevating.
      </p>
      <div className="actions">
        <button type="button" disabled={busy} onClick={passkey}>
          Enrol a passkey
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={startTotp}>
          Enrol an authenticator app
        </button>
      </div>
      {totp ? (
        <form onSubmit={confirmTotp} className="inline-form totp-enrolment">
          <p>
            Secret for <strong>{totp.subject}</strong>:{' '}
            <code className="totp-secret">{totp.secret}</code>
          </p>
          <p>
            Or open this URI with the app: <code className="totp-secret">{totp.otpauthUri}</code>
          </p>
          <label htmlFor="totp-confirm-code">First code from the app</label>
          <input
            id="totp-confirm-code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="\d{6}"
            maxLength={6}
            value={confirmCode}
            onChange={(event) => setConfirmCode(event.target.value.trim())}
          />{' '}
          <button type="submit" disabled={busy || !/^\d{6}$/.test(confirmCode)}>
            Confirm
          </button>
        </form>
      ) : null}
      <ErrorMessage error={error} title="Enrolment failed" />
      <div aria-live="polite">{done ? <p className="step-up-notice">{done}</p> : null}</div>
    </section>
  );
}
