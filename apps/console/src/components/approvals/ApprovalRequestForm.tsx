import type { ApprovalView, CreateApprovalRequest } from '@stepgate/protocol';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';

const EMPTY = { action: '', kind: '', id: '', reason: '', minutes: '' };

/**
 * Asks for approval of one exact action on one exact resource, as `stepgate request` does. The
 * active policies decide for the signed-in subject how many approvers it needs, with the roles
 * the policy data (data.people) gives it: roles are never the requester's to state.
 */
export function ApprovalRequestForm({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApprovalView>();
  const field = (name: keyof typeof EMPTY) => (event: { target: { value: string } }) =>
    setForm({ ...form, [name]: event.target.value });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setCreated(undefined);
    const body: CreateApprovalRequest = {
      action: form.action.trim(),
      resource: { kind: form.kind.trim(), id: form.id.trim() },
      reason: form.reason.trim(),
      ...(form.minutes ? { ttlSeconds: Math.round(Number(form.minutes) * 60) } : {}),
    };
    try {
      setCreated(await api<ApprovalView>('/v1/approvals', { method: 'POST', body }));
      setForm(EMPTY);
      onCreated();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="approval-request-title" className="step-up-panel">
      <h2 id="approval-request-title">Ask for approval</h2>
      <form onSubmit={submit} className="step-up-form">
        <div>
          <label htmlFor="request-action">Action</label>
          <input
            id="request-action"
            required
            value={form.action}
            onChange={field('action')}
            placeholder="e.g. release"
          />
        </div>
        <div>
          <label htmlFor="request-kind">Resource kind</label>
          <input
            id="request-kind"
            required
            value={form.kind}
            onChange={field('kind')}
            placeholder="e.g. service"
          />
        </div>
        <div>
          <label htmlFor="request-resource">Resource</label>
          <input
            id="request-resource"
            required
            value={form.id}
            onChange={field('id')}
            placeholder="e.g. prod/billing"
          />
        </div>
        <div>
          <label htmlFor="request-minutes">Open for (minutes, optional)</label>
          <input
            id="request-minutes"
            type="number"
            min={1}
            max={1440}
            value={form.minutes}
            onChange={field('minutes')}
          />
        </div>
        <div className="step-up-wide">
          <label htmlFor="request-reason">Reason for the approvers</label>
          <textarea
            id="request-reason"
            required
            maxLength={1000}
            rows={2}
            value={form.reason}
            onChange={field('reason')}
          />
        </div>
        <div className="step-up-wide actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Asking…' : 'Ask for approval'}
          </button>
        </div>
      </form>
      <ErrorMessage error={error} title="Could not ask for approval" />
      <div aria-live="polite">
        {created ? (
          <p className="step-up-notice">
            Asked: {created.required} approval(s) needed by <Time at={created.expiresAt} />.
          </p>
        ) : null}
      </div>
    </section>
  );
}
