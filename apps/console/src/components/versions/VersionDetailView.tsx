import { useQuery } from '@tanstack/react-query';
import type { VersionDetail, VersionError, VersionsResponse } from '@stepgate/protocol';
import { useState } from 'react';
import { Link } from 'wouter';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';
import { useTitle } from '../useTitle';
import { DiffView } from './DiffView';
import { ReplayImpact } from './ReplayImpact';
import { useVersionActions } from './useVersionActions';
import { VersionState } from './VersionState';

/**
 * A failed policy test as the sync records it in `testReport` (the wire type leaves the report
 * open: `unknown`), read defensively.
 */
interface FailedCase {
  file: string;
  suite?: string;
  name: string;
  line?: number;
  failures: string[];
}

function failedCases(report: unknown): FailedCase[] {
  const failures = (report as { failures?: unknown } | null)?.failures;
  if (!Array.isArray(failures)) return [];
  return failures.filter(
    (f): f is FailedCase =>
      typeof f === 'object' && f !== null && typeof (f as FailedCase).name === 'string',
  );
}

function position(error: { file: string; line?: number; column?: number }): string {
  return [error.file, error.line, error.column].filter((part) => part !== undefined).join(':');
}

function ErrorsTable({ errors }: { errors: VersionError[] }) {
  return (
    <table>
      <caption className="visually-hidden">Compile errors</caption>
      <thead>
        <tr>
          <th scope="col">Where</th>
          <th scope="col">Policy / rule</th>
          <th scope="col">Code</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {errors.map((error, index) => (
          <tr key={index}>
            <th scope="row">
              <code>{position(error)}</code>
            </th>
            <td>{[error.policy, error.rule].filter(Boolean).join(' / ') || '—'}</td>
            <td>
              <code>{error.code}</code>
            </td>
            <td>{error.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One version: what it is, its tests and errors, its replay impact, its diff and its actions. */
export function VersionDetailView({ reference }: { reference: string }) {
  useTitle(`Version ${reference}`);
  const { start, dialog, notice } = useVersionActions();
  const [against, setAgainst] = useState('');
  const detail = useQuery({
    queryKey: ['versions', reference],
    queryFn: ({ signal }) =>
      api<VersionDetail>(`/v1/versions/${encodeURIComponent(reference)}`, { signal }),
    // The impact arrives once the sync's replay ends: ask again until then.
    refetchInterval: (query) => {
      const status = query.state.data?.replay?.status;
      return status === 'queued' || status === 'running' ? 2_000 : false;
    },
  });
  // The versions to compare with: the newest 100 (server-paged by `limit`).
  const others = useQuery({
    queryKey: ['versions', 'list', 100],
    queryFn: ({ signal }) =>
      api<VersionsResponse>('/v1/versions', { query: { limit: 100 }, signal }),
  });
  const version = detail.data;
  const activeNumber = others.data?.versions.find((v) => v.active)?.number;
  const failures = failedCases(version?.testReport);

  return (
    <section aria-labelledby="version-title">
      <p>
        <Link href="/versions">← All versions</Link>
      </p>
      <h1 id="version-title">Version {version?.number ?? reference}</h1>
      <ErrorMessage error={detail.error} title="Could not load the version" />
      {notice}
      {detail.isPending ? <p aria-busy="true">Loading the version…</p> : null}
      {version ? (
        <>
          <p className="summary">
            <VersionState version={version} /> · {version.message.split('\n')[0]}
          </p>
          <div className="actions">
            {version.status === 'ready' && !version.active ? (
              <button
                type="button"
                onClick={() => start({ kind: 'activate', version, held: version.activationHeld })}
              >
                Activate
              </button>
            ) : null}
            {version.status === 'ready' &&
            !version.active &&
            activeNumber !== undefined &&
            version.number < activeNumber ? (
              <button type="button" onClick={() => start({ kind: 'rollback', to: version })}>
                Roll back to this version
              </button>
            ) : null}
            {version.status === 'ready' && !version.active && !version.shadow ? (
              <button
                type="button"
                className="secondary"
                onClick={() => start({ kind: 'shadow', version })}
              >
                Shadow this version
              </button>
            ) : null}
            {version.shadow ? (
              <button
                type="button"
                className="secondary"
                onClick={() => start({ kind: 'stop-shadow' })}
              >
                Stop shadow
              </button>
            ) : null}
          </div>

          <h2>Summary</h2>
          <dl className="facts">
            <dt>Commit</dt>
            <dd>
              <code>{version.sha}</code> on <code>{version.branch}</code>
              {version.forcePush ? <span className="badge step_up">force push</span> : null}
            </dd>
            <dt>Author</dt>
            <dd>{version.author}</dd>
            <dt>Committed</dt>
            <dd>
              <Time at={version.committedAt} />
            </dd>
            <dt>Recorded</dt>
            <dd>
              <Time at={version.createdAt} /> by {version.pushedBy ?? 'unknown'}
            </dd>
            <dt>Bundle</dt>
            <dd>
              {version.bundleHash ? <code>{version.bundleHash.slice(0, 16)}…</code> : '—'}
              {version.size !== null ? ` (${version.size} bytes)` : ''}
            </dd>
            <dt>Self-protection</dt>
            <dd>
              {version.protectionChanged
                ? 'Changed: never auto-activated'
                : 'Unchanged from the active version'}
            </dd>
          </dl>

          <h2>Tests</h2>
          {version.tests ? (
            <p>
              {version.tests.passed} passed · {version.tests.failed} failed
            </p>
          ) : (
            <p className="muted">No test ran (the version did not compile).</p>
          )}
          {failures.length > 0 ? (
            <ul>
              {failures.map((failure, index) => (
                <li key={index}>
                  <code>{position(failure)}</code> {failure.suite ? `${failure.suite}: ` : ''}
                  {failure.name} — {failure.failures.join('; ')}
                </li>
              ))}
            </ul>
          ) : null}

          <h2>Compile errors</h2>
          {version.errors.length > 0 ? (
            <ErrorsTable errors={version.errors} />
          ) : (
            <p className="muted">None.</p>
          )}

          <h2>Replay impact</h2>
          <ReplayImpact replay={version.replay} held={version.activationHeld} />

          <h2>Changes</h2>
          <div className="filters">
            <div>
              <label htmlFor="diff-against">Compare with</label>
              <select
                id="diff-against"
                value={against}
                onChange={(event) => setAgainst(event.target.value)}
              >
                <option value="">The previous version</option>
                {others.data?.versions
                  .filter((other) => other.number !== version.number)
                  .map((other) => (
                    <option key={other.id} value={String(other.number)}>
                      Version {other.number} ({other.sha.slice(0, 7)})
                      {other.active ? ', active' : ''}
                    </option>
                  ))}
              </select>
            </div>
          </div>
          <DiffView version={version.number} against={against} />
        </>
      ) : null}
      {dialog}
    </section>
  );
}
