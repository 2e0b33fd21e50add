import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { AuditResponse } from '@stepgate/protocol';
import { api } from '../api/client';
import { AuditDetails } from '../components/audit/AuditDetails';
import { FilterForm, type FilterField } from '../components/decisions/FilterForm';
import { useUrlFilters } from '../components/decisions/url-filters';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager, useCursorPages } from '../components/Pager';
import { Time } from '../components/Time';
import { useTitle } from '../components/useTitle';

const PAGE_SIZE = 50;

const AUDIT_FILTERS: FilterField[] = [
  { name: 'from', label: 'From', kind: 'time' },
  { name: 'to', label: 'To', kind: 'time' },
  { name: 'actor', label: 'Actor', hint: 'End with * to match a prefix.', placeholder: 'alice' },
  {
    name: 'action',
    label: 'Action',
    hint: 'End with * to match a prefix.',
    placeholder: 'version.*',
  },
];
const FILTER_NAMES = AUDIT_FILTERS.map((field) => field.name);

/** Who did what to which object, and why: the audit log, newest first, paged on the server. */
export function AuditPage() {
  useTitle('Audit');
  const filters = useUrlFilters(FILTER_NAMES);
  const pages = useCursorPages(filters.key);
  const audit = useQuery({
    queryKey: ['audit', filters.key, pages.cursor],
    queryFn: ({ signal }) =>
      api<AuditResponse>('/v1/audit', {
        query: { ...filters.values, limit: PAGE_SIZE, cursor: pages.cursor },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
  const events = audit.data?.events ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <FilterForm
        key={filters.key}
        id="audit-filter"
        label="Audit filters"
        fields={AUDIT_FILTERS}
        values={filters.values}
        onApply={filters.apply}
      />
      <ErrorMessage error={audit.error} title="Could not load the audit log" />
      {audit.isPending ? <p aria-busy="true">Loading the audit log…</p> : null}
      {audit.data ? (
        <>
          <table aria-busy={audit.isFetching} className="audit-table">
            <caption className="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Reason</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id}>
                  <th scope="row">
                    <Time at={event.at} />
                  </th>
                  <td>{event.actor}</td>
                  <td>
                    <code>{event.action}</code>
                  </td>
                  <td>{event.target ?? <span className="muted">—</span>}</td>
                  <td>{event.reason ?? <span className="muted">—</span>}</td>
                  <td>
                    <AuditDetails details={event.details} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {events.length === 0 ? <p>No audit event matches these filters.</p> : null}
          <Pager
            label="Audit"
            page={pages.page}
            nextCursor={audit.isPlaceholderData ? null : audit.data.nextCursor}
            onOlder={pages.older}
            onNewer={pages.newer}
          />
        </>
      ) : null}
    </section>
  );
}
