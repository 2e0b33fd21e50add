import { useQuery } from '@tanstack/react-query';
import type { DataSourceListResponse, DataSourceStatus } from '@stepgate/protocol';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { age, Time } from '../Time';
import { duration } from './live-data-api';

export function useDataSources() {
  return useQuery({
    queryKey: ['data-sources'],
    queryFn: ({ signal }) => api<DataSourceListResponse>('/v1/data-sources', { signal }),
    refetchInterval: 10_000,
  });
}

const STATUS_CLASS: Record<DataSourceStatus['status'], string> = {
  ok: 'allow',
  failing: 'deny',
  pending: 'step_up',
};

/** The fetch state in words (never by colour alone). */
export function DataSourceStatusBadge({ source }: { source: DataSourceStatus }) {
  return <span className={`badge ${STATUS_CLASS[source.status]}`}>{source.status}</span>;
}

/** The data sources the active version declares and how their fetches go. */
export function DataSourceTable() {
  const sources = useDataSources();
  return (
    <section aria-labelledby="data-sources-title">
      <h2 id="data-sources-title">Data sources</h2>
      <ErrorMessage error={sources.error} title="Could not load the data sources" />
      {sources.data && sources.data.sources.length > 0 ? (
        <table>
          <caption className="visually-hidden">Data sources</caption>
          <thead>
            <tr>
              <th scope="col">Feeds</th>
              <th scope="col">URL</th>
              <th scope="col">Every</th>
              <th scope="col">Status</th>
              <th scope="col">Last fetch</th>
              <th scope="col">Last success</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {sources.data.sources.map((source) => (
              <tr key={source.name}>
                <th scope="row">{source.name}</th>
                <td>
                  <code>{source.url}</code> <span className="muted">({source.format})</span>
                </td>
                <td>{duration(source.every)}</td>
                <td>
                  <DataSourceStatusBadge source={source} />
                  {source.consecutiveFailures > 0 ? (
                    <span className="muted"> {source.consecutiveFailures} failures in a row</span>
                  ) : null}
                </td>
                <td>
                  <Time at={source.lastFetchAt} />
                </td>
                <td>{age(source.lastSuccessAt)}</td>
                <td>
                  {source.lastError ? (
                    <>
                      {source.lastError} <span className="muted">({age(source.lastErrorAt)})</span>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {sources.data?.sources.length === 0 ? (
        <p>
          No document is fed by a data source (<code>dataSources:</code> in stepgate.yaml).
        </p>
      ) : null}
    </section>
  );
}

/** The read-only notice of a document a data source feeds: which source, and how it goes. */
export function FedBySource({ source }: { source: DataSourceStatus }) {
  return (
    <div className="fed-by-source" role="note">
      <p>
        <strong>Read-only:</strong> this document is fed by the data source{' '}
        <code>{source.url}</code> (every {duration(source.every)}, {source.format}); its next fetch
        would overwrite any write, so the control plane refuses them. Change what the source serves,
        or remove it from <code>dataSources:</code> in stepgate.yaml.
      </p>
      <p>
        Status <DataSourceStatusBadge source={source} /> · last fetch{' '}
        <Time at={source.lastFetchAt} /> · last success {age(source.lastSuccessAt)}
        {source.lastError ? (
          <>
            {' '}
            · last error: {source.lastError} ({age(source.lastErrorAt)})
          </>
        ) : null}
      </p>
    </div>
  );
}
