import { useQuery } from '@tanstack/react-query';
import type { LiveDocumentResponse } from '@stepgate/protocol';
import { Link } from 'wouter';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';
import { useTitle } from '../useTitle';
import { FedBySource, useDataSources } from './DataSources';
import { DocumentEditor } from './DocumentEditor';
import { DocumentHistory } from './DocumentHistory';
import { documentPath, prettyJson } from './live-data-api';

/** One live document: its value as agents receive it, the editor, and its history. */
export function DocumentView({ name }: { name: string }) {
  useTitle(`Live data ${name}`);
  const document = useQuery({
    queryKey: ['live-data', name],
    queryFn: ({ signal }) => api<LiveDocumentResponse>(documentPath(name), { signal }),
    refetchInterval: 10_000,
  });
  const sources = useDataSources();
  const source = sources.data?.sources.find((s) => s.name === name);
  const data = document.data;
  return (
    <section aria-labelledby="live-document-title">
      <p>
        <Link href="/live-data">← Live data and signals</Link>
      </p>
      <h1 id="live-document-title">
        Live data <code>{name}</code>
      </h1>
      <ErrorMessage error={document.error} title="Could not load the document" />
      {document.isPending ? <p aria-busy="true">Loading the document…</p> : null}
      {data ? (
        <>
          <section aria-labelledby="value-title">
            <h2 id="value-title">Value</h2>
            <p className="summary">
              {data.isDefault ? (
                <>Never written (or reset): it reads as its default.</>
              ) : (
                <>
                  Revision {data.revision}, written <Time at={data.updatedAt} /> by {data.updatedBy}
                </>
              )}{' '}
              <span className="muted">· data revision now {data.dataRevision}</span>
            </p>
            <pre className="live-data-value" tabIndex={0}>
              {prettyJson(data.value)}
            </pre>
            <details>
              <summary>JSON Schema</summary>
              <pre>{prettyJson(data.schema)}</pre>
            </details>
          </section>
          {source ? (
            <FedBySource source={source} />
          ) : sources.isPending ? null : (
            // Keyed by name: a refetch keeps the draft being typed.
            <DocumentEditor key={name} document={data} />
          )}
          <DocumentHistory name={name} />
        </>
      ) : null}
    </section>
  );
}
