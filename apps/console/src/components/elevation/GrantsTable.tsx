import { useQuery } from '@tanstack/react-query';
import type { GrantsResponse, GrantView } from '@stepgate/protocol';
import { useState } from 'react';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { ReasonDialog } from '../ReasonDialog';
import { Time } from '../Time';

/** The API lists up to `limit` grants (no cursor): "Show more" asks for more. */
const PAGE = 25;
const MAX_LIMIT = 500;
export const GRANTS_KEY = ['grants'] as const;
const METHODS: Record<string, string> = { webauthn: 'passkey', totp: 'authenticator code' };

/** The signed-in subject's grants (elevations and approvals), each revocable at once. */
export function GrantsTable({ onRevoked }: { onRevoked: () => void }) {
  const [all, setAll] = useState(false);
  const [limit, setLimit] = useState(PAGE);
  const [revoking, setRevoking] = useState<GrantView>();
  const grants = useQuery({
    queryKey: [...GRANTS_KEY, all, limit],
    queryFn: ({ signal }) =>
      api<GrantsResponse>('/v1/grants', { query: { all: all || undefined, limit }, signal }),
    refetchInterval: 10_000,
  });
  const rows = grants.data?.grants ?? [];

  const revoke = async (grant: GrantView, reason: string) => {
    await api(`/v1/grants/${encodeURIComponent(grant.id)}`, {
      method: 'DELETE',
      body: { reason },
    });
    onRevoked();
  };

  return (
    <section aria-labelledby="grants-title" className="step-up-panel">
      <h2 id="grants-title">Your grants</h2>
      <div className="filters">
        <label className="grants-all">
          <input
            type="checkbox"
            checked={all}
            onChange={(event) => {
              setAll(event.target.checked);
              setLimit(PAGE);
            }}
          />{' '}
          Include expired and revoked
        </label>
      </div>
      <ErrorMessage error={grants.error} title="Could not load your grants" />
      {grants.isPending ? <p aria-busy="true">Loading grants…</p> : null}
      {grants.data && rows.length === 0 ? <p>You hold no grant in force.</p> : null}
      {rows.length > 0 ? (
        <table>
          <caption className="visually-hidden">Your grants</caption>
          <thead>
            <tr>
              <th scope="col">Grant</th>
              <th scope="col">Proof or approvers</th>
              <th scope="col">Actions</th>
              <th scope="col">Resources</th>
              <th scope="col">Issued</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Revoke</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((grant) => (
              <GrantRow key={grant.id} grant={grant} onRevoke={() => setRevoking(grant)} />
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
        open={revoking !== undefined}
        title="Revoke the grant"
        description="Every agent drops it at once; the next protected action asks for a step-up again."
        confirmLabel="Revoke"
        onConfirm={(reason) => (revoking ? revoke(revoking, reason) : Promise.resolve())}
        onClose={() => setRevoking(undefined)}
      />
    </section>
  );
}

function GrantRow({ grant, onRevoke }: { grant: GrantView; onRevoke: () => void }) {
  const state = grant.revokedAt
    ? 'revoked'
    : Date.parse(grant.expiresAt) <= Date.now()
      ? 'expired'
      : 'in force';
  const patterns = (list: string[]) =>
    list.length === 0 ? (
      <span className="muted">any</span>
    ) : (
      list.map((pattern) => (
        <code key={pattern} className="tag">
          {pattern}
        </code>
      ))
    );
  return (
    <tr>
      <th scope="row">
        {grant.kind === 'approval' ? 'Approval' : 'Elevation'}{' '}
        <span className="muted">({METHODS[grant.method] ?? grant.method})</span>
        <span className={`badge grant-${state.replace(' ', '-')}`}>{state}</span>
      </th>
      <td>
        {grant.kind === 'approval'
          ? grant.approvals.join(', ')
          : (grant.level ?? grant.amr.join(', '))}
      </td>
      <td>{patterns(grant.actions)}</td>
      <td>
        {grant.resourceKind ? <span className="muted">{grant.resourceKind} </span> : null}
        {patterns(grant.resources)}
      </td>
      <td>
        <Time at={grant.issuedAt} />
      </td>
      <td>
        <Time at={grant.revokedAt ?? grant.expiresAt} />
      </td>
      <td>
        {state === 'in force' ? (
          <button
            type="button"
            className="danger"
            aria-label={`Revoke the ${grant.kind} grant issued ${new Date(grant.issuedAt).toLocaleString()}`}
            onClick={onRevoke}
          >
            Revoke
          </button>
        ) : null}
      </td>
    </tr>
  );
}
