import { useQuery } from '@tanstack/react-query';
import type { LiveDataHistoryResponse } from '@stepgate/protocol';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Pager, useCursorPages } from '../Pager';
import { Time } from '../Time';
import { documentPath, prettyJson } from './live-data-api';

const PAGE_SIZE = 20;

/** The writes of one document, newest first, paged by data revision (`before`). */
export function DocumentHistory({ name }: { name: string }) {
  const pages = useCursorPages(name);
  const history = useQuery({
    queryKey: ['live-data', name, 'history', pages.cursor],
    queryFn: ({ signal }) =>
      api<LiveDataHistoryResponse>(`${documentPath(name)}/history`, {
        query: { limit: PAGE_SIZE, before: pages.cursor },
        signal,
      }),
  });
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorMessage error={history.error} title="Could not load the history" />
      {history.isPending ? <p aria-busy="true">Loading the history…</p> : null}
      {history.data && history.data.changes.length === 0 && pages.page === 1 ? (
        <p>Never written: it reads as its default.</p>
      ) : null}
      {history.data && history.data.changes.length > 0 ? (
        <table className="live-data-history">
          <caption className="visually-hidden">Writes of {name}</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
              <th scope="col">Values</th>
            </tr>
          </thead>
          <tbody>
            {history.data.changes.map((change) => (
              <tr key={change.revision}>
                <th scope="row">{change.revision}</th>
                <td>
                  <Time at={change.at} />
                </td>
                <td>{change.actor}</td>
                <td>
                  {change.op}
                  {change.key !== null ? (
                    <>
                      {' '}
                      key <code>{change.key}</code>
                    </>
                  ) : null}
                  <div className="muted">
                    {change.changed.length === 0
                      ? 'nothing changed'
                      : change.changed.map((path) => path || '(whole)').join(', ')}
                  </div>
                </td>
                <td>{change.reason}</td>
                <td>
                  <details>
                    <summary>Before and after</summary>
                    <p className="muted">Before</p>
                    <pre>{prettyJson(change.before)}</pre>
                    <p className="muted">After</p>
                    <pre>{prettyJson(change.after)}</pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Pager
        label="History"
        page={pages.page}
        nextCursor={
          history.data?.nextCursor === null || history.data === undefined
            ? null
            : String(history.data.nextCursor)
        }
        onOlder={pages.older}
        onNewer={pages.newer}
      />
    </section>
  );
}
