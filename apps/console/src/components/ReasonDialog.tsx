import { useState, type FormEvent } from 'react';
import { ErrorMessage } from './ErrorMessage';
import { Modal } from './Modal';

/**
 * Every change through the console carries a reason, as the API requires and the audit log
 * keeps. `onConfirm` runs the action; its error is shown here and the dialog stays open.
 */
export function ReasonDialog({
  open,
  title,
  description,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  description?: string;
  confirmLabel: string;
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const close = () => {
    setReason('');
    setError(undefined);
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm(reason.trim());
      close();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title={title} onClose={close}>
      <form onSubmit={submit}>
        {description ? <p>{description}</p> : null}
        <label htmlFor="reason-input">Reason (kept in the audit log)</label>
        <textarea
          id="reason-input"
          required
          minLength={3}
          maxLength={500}
          value={reason}
          onChange={(event) => setReason(event.target.value)}
          rows={3}
        />
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" disabled={busy || reason.trim().length < 3}>
            {busy ? 'Working…' : confirmLabel}
          </button>
          <button type="button" className="secondary" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
