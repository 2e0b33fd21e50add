import { useQuery } from '@tanstack/react-query';
import type { FleetView, VersionsResponse } from '@stepgate/protocol';
import { useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { api } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { Time } from '../components/Time';
import { useTitle } from '../components/useTitle';
import { useVersionActions } from '../components/versions/useVersionActions';
import { VersionDetailView } from '../components/versions/VersionDetailView';
import { VersionState } from '../components/versions/VersionState';

/** Versions listed per step: GET /v1/versions pages by `limit` only (newest first). */
const STEP = 25;
const MAX_LIMIT = 500;

/** `/versions`: the history; `/versions/:ref`: one version with its diff and actions. */
export function VersionsPage() {
  return (
    <Switch>
      <Route path="/versions/:ref">
        {(params) => <VersionDetailView key={params.ref} reference={params.ref} />}
      </Route>
      <Route>
        <VersionHistory />
      </Route>
    </Switch>
  );
}

function VersionHistory() {
  useTitle('Versions');
  const [limit, setLimit] = useState(STEP);
  const { start, dialog, notice } = useVersionActions();
  const versions = useQuery({
    queryKey: ['versions', 'list', limit],
    queryFn: ({ signal }) => api<VersionsResponse>('/v1/versions', { query: { limit }, signal }),
    placeholderData: (previous) => previous,
  });
  const fleet = useQuery({
    queryKey: ['fleet'],
    queryFn: ({ signal }) => api<FleetView>('/v1/fleet', { signal }),
    refetchInterval: 5_000,
  });
  const list = versions.data?.versions ?? [];
  const active = list.find((version) => version.active);
  const shadow = list.find((version) => version.shadow);
  const more = list.length === limit && limit < MAX_LIMIT;

  return (
    <section aria-labelledby="versions-title">
      <h1 id="versions-title">Versions</h1>
      <ErrorMessage error={versions.error ?? fleet.error} title="Could not load the versions" />
      {fleet.data ? (
        <p className="summary">
          Active {active ? `version ${active.number}` : 'version'} at revision{' '}
          {fleet.data.activeRevision ?? 'none'} ·{' '}
          {fleet.data.converged
            ? `all ${fleet.data.agents.connected} connected agents enforce it`
            : `${fleet.data.behind.length} of ${fleet.data.agents.connected} connected agents behind`}
          {shadow ? ` · version ${shadow.number} in shadow` : ''}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={() => start({ kind: 'rollback' })} disabled={!active}>
          Roll back to the previous version
        </button>
        {shadow ? (
          <button
            type="button"
            className="secondary"
            onClick={() => start({ kind: 'stop-shadow' })}
          >
            Stop shadow
          </button>
        ) : null}
      </div>
      {notice}
      {versions.isPending ? <p aria-busy="true">Loading versions…</p> : null}
      {versions.data ? (
        <table>
          <caption className="visually-hidden">Policy versions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Commit</th>
              <th scope="col">Author</th>
              <th scope="col">Tests</th>
              <th scope="col">Errors</th>
              <th scope="col">Recorded</th>
            </tr>
          </thead>
          <tbody>
            {list.map((version) => (
              <tr key={version.id}>
                <th scope="row">
                  <Link href={`/versions/${version.number}`}>Version {version.number}</Link>
                </th>
                <td>
                  <VersionState version={version} />
                </td>
                <td>
                  <code>{version.sha.slice(0, 7)}</code> {version.message.split('\n')[0]}
                </td>
                <td>{version.author}</td>
                <td>
                  {version.tests
                    ? `${version.tests.passed} passed, ${version.tests.failed} failed`
                    : '—'}
                </td>
                <td>{version.errorCount}</td>
                <td>
                  <Time at={version.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {versions.data && list.length === 0 ? (
        <p>No version yet: push policies to a source to record one.</p>
      ) : null}
      {more ? (
        <button type="button" className="secondary" onClick={() => setLimit(limit + STEP)}>
          Show older versions
        </button>
      ) : null}
      {dialog}
    </section>
  );
}
