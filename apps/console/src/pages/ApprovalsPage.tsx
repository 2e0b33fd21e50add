import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ApprovalsResponse, ApprovalView } from '@stepgate/protocol';
import { useState } from 'react';
import { api } from '../api/client';
import { ApprovalRequestForm } from '../components/approvals/ApprovalRequestForm';
import { ErrorMessage } from '../components/ErrorMessage';
import { ReasonDialog } from '../components/ReasonDialog';
import { age, Time } from '../components/Time';
import { useTitle } from '../components/useTitle';

type StatusFilter = ApprovalView['status'] | '';
type Act = 'approve' | 'deny';

/** The API lists the newest requests up to `limit` (no cursor): "Show more" asks for more. */
const PAGE = 25;
const MAX_LIMIT = 500;

/**
 * Approval requests, pending first: who asks for what and why, how many approvals it has of
 * how many it needs, when it expires; an approver approves or denies each with a comment.
 */
export function ApprovalsPage() {
  useTitle('Approvals');
  const client = useQueryClient();
  const [status, setStatus] = useState<StatusFilter>('pending');
  const [limit, setLimit] = useState(PAGE);
  const [deciding, setDeciding] = useState<{ act: Act; request: ApprovalView }>();
  const [outcome, setOutcome] = useState<string>();
  const approvals = useQuery({
    queryKey: ['approvals', status, limit],
    queryFn: ({ signal }) =>
      api<ApprovalsResponse>('/v1/approvals', { query: { status, limit }, signal }),
    refetchInterval: 5_000,
  });
  const rows = approvals.data?.approvals ?? [];
  const refresh = () => client.invalidateQueries({ queryKey: ['approvals'] });

  const decide = async (act: Act, request: ApprovalView, comment: string) => {
    const decided = await api<ApprovalView>(
      `/v1/approvals/${encodeURIComponent(request.id)}/${act}`,
      { method: 'POST', body: { comment } },
    );
    setOutcome(
      act === 'deny'
        ? `Denied the request of ${decided.requester} for ${decided.action}.`
        : decided.status === 'approved'
          ? `Approved: ${decided.requester} now holds a grant for ${decided.action} on ${decided.resource.id}.`
          : `Approval recorded: ${decided.approvals.length} of ${decided.required}.`,
    );
    await refresh();
  };

  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <p className="muted">
        Actions the policies hold for approval. Approving needs the approver scope and never applies
        to your own request; the last approval needed gives the requester a grant.
      </p>
      <div className="filters">
        <div>
          <label htmlFor="approval-status">Status</label>
          <select
            id="approval-status"
            value={status}
            onChange={(event) => {
              setStatus(event.target.value as StatusFilter);
              setLimit(PAGE);
            }}
          >
            <option value="pending">Pending</option>
            <option value="approved">Approved</option>
            <option value="denied">Denied</option>
            <option value="expired">Expired</option>
            <option value="">All</option>
          </select>
        </div>
      </div>
      <div aria-live="polite">{outcome ? <p className="step-up-notice">{outcome}</p> : null}</div>
      <ErrorMessage error={approvals.error} title="Could not load approval requests" />
      {approvals.isPending ? <p aria-busy="true">Loading approval requests…</p> : null}
      {approvals.data && rows.length === 0 ? (
        <p>{status === 'pending' ? 'No request waits for approval.' : 'No request here.'}</p>
      ) : null}
      {rows.length > 0 ? (
        <table className="approvals">
          <caption className="visually-hidden">Approval requests</caption>
          <thead>
            <tr>
              <th scope="col">Requester</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">Reason</th>
              <th scope="col">Approvals</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Decide</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((request) => (
              <ApprovalRow
                key={request.id}
                request={request}
                onDecide={(act) => {
                  setOutcome(undefined);
                  setDeciding({ act, request });
                }}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      {rows.length >= limit && limit < MAX_LIMIT ? (
        <button
          type="button"
          className="secondary"
          onClick={() => setLimit(Math.min(MAX_LIMIT, limit * 2))}
        >
          Show more
        </button>
      ) : null}
      <ReasonDialog
        open={deciding !== undefined}
        title={deciding?.act === 'deny' ? 'Deny the request' : 'Approve the request'}
        description={
          deciding
            ? `${deciding.request.requester} asks for ${deciding.request.action} on ${deciding.request.resource.kind} ${deciding.request.resource.id}: “${deciding.request.reason}”. Your comment goes to the requester and the audit log.`
            : undefined
        }
        confirmLabel={deciding?.act === 'deny' ? 'Deny' : 'Approve'}
        onConfirm={(comment) =>
          deciding ? decide(deciding.act, deciding.request, comment) : Promise.resolve()
        }
        onClose={() => setDeciding(undefined)}
      />
      <ApprovalRequestForm onCreated={refresh} />
    </section>
  );
}

function ApprovalRow({
  request,
  onDecide,
}: {
  request: ApprovalView;
  onDecide: (act: Act) => void;
}) {
  const label = `${request.requester}: ${request.action} on ${request.resource.id}`;
  return (
    <tr>
      <th scope="row">{request.requester}</th>
      <td>
        <code>{request.action}</code>
      </td>
      <td>
        <span className="muted">{request.resource.kind}</span> <code>{request.resource.id}</code>
      </td>
      <td className="approval-reason">{request.reason}</td>
      <td>
        {request.approvals.length} of {request.required}
        {request.approvals.map((approval) => (
          <div key={approval.approver} className="muted">
            {approval.approver}
            {approval.comment ? `: ${approval.comment}` : ''}
          </div>
        ))}
      </td>
      <td>
        <span className={`badge approval-${request.status}`}>{request.status}</span>
        {request.deniedBy ? (
          <div className="muted">
            by {request.deniedBy}
            {request.denialComment ? `: ${request.denialComment}` : ''}
          </div>
        ) : null}
      </td>
      <td>
        <Time at={request.expiresAt} />
        <div className="muted">
          {request.status === 'pending' ? `in ${until(request.expiresAt)}` : null}
          {request.status !== 'pending' && request.closedAt
            ? `closed ${age(request.closedAt)}`
            : null}
        </div>
      </td>
      <td>
        {request.status === 'pending' ? (
          <div className="approval-actions">
            <button
              type="button"
              aria-label={`Approve ${label}`}
              onClick={() => onDecide('approve')}
            >
              Approve
            </button>
            <button
              type="button"
              className="danger"
              aria-label={`Deny ${label}`}
              onClick={() => onDecide('deny')}
            >
              Deny
            </button>
          </div>
        ) : null}
      </td>
    </tr>
  );
}

/** `12 min` until a future time (0 s once it passed). */
function until(at: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((Date.parse(at) - now) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}
