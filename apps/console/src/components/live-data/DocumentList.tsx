import { useQuery } from '@tanstack/react-query';
import type { LiveDataListResponse } from '@stepgate/protocol';
import { Link } from 'wouter';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';
import { DataSourceStatusBadge, useDataSources } from './DataSources';

/**
 * The live documents the active version declares. The API answers them all at once: the set
 * is bounded by what stepgate.yaml declares, so there is no page to ask for.
 */
export function DocumentList() {
  const documents = useQuery({
    queryKey: ['live-data'],
    queryFn: ({ signal }) => api<LiveDataListResponse>('/v1/data', { signal }),
    refetchInterval: 10_000,
  });
  const sources = useDataSources();
  const sourceOf = (name: string) => sources.data?.sources.find((source) => source.name === name);
  return (
    <section aria-labelledby="live-documents-title">
      <h2 id="live-documents-title">Live documents</h2>
      <ErrorMessage error={documents.error} title="Could not load the live documents" />
      {documents.data ? (
        <p className="summary">
          Data revision {documents.data.revision} · declared by version{' '}
          {documents.data.versionNumber ?? 'none (no active version)'}
        </p>
      ) : null}
      {documents.isPending ? <p aria-busy="true">Loading live documents…</p> : null}
      {documents.data && documents.data.documents.length > 0 ? (
        <table>
          <caption className="visually-hidden">Live documents</caption>
          <thead>
            <tr>
              <th scope="col">Document</th>
              <th scope="col">Revision</th>
              <th scope="col">Last written</th>
              <th scope="col">Last writer</th>
              <th scope="col">Written through</th>
            </tr>
          </thead>
          <tbody>
            {documents.data.documents.map((document) => {
              const source = sourceOf(document.name);
              return (
                <tr key={document.name}>
                  <th scope="row">
                    <Link href={`/live-data/${encodeURIComponent(document.name)}`}>
                      {document.name}
                    </Link>
                    {document.isDefault ? <span className="badge">default</span> : null}
                  </th>
                  <td>{document.revision ?? '—'}</td>
                  <td>
                    <Time at={document.updatedAt} />
                  </td>
                  <td>{document.updatedBy ?? '—'}</td>
                  <td>
                    {source ? (
                      <>
                        data source <code>{source.url}</code>
                        <DataSourceStatusBadge source={source} />
                      </>
                    ) : (
                      'the admin API'
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {documents.data?.documents.length === 0 ? (
        <p>
          The active version declares no live data. Declare documents under <code>liveData:</code>{' '}
          in stepgate.yaml and push.
        </p>
      ) : null}
    </section>
  );
}
