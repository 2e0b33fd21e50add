import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { DecisionsResponse } from '@stepgate/protocol';
import { Link } from 'wouter';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Pager, useCursorPages } from '../Pager';
import { Time } from '../Time';
import { decisionHref, EffectBadge, ruleName } from './decision-format';
import { FilterForm, type FilterField } from './FilterForm';
import { useUrlFilters } from './url-filters';

/** Rows per page: a screenful, and a cheap keyset query however long the log is. */
const PAGE_SIZE = 50;

const PREFIX = 'End with * to match a prefix.';

export const DECISION_FILTERS: FilterField[] = [
  { name: 'from', label: 'From', kind: 'time' },
  { name: 'to', label: 'To', kind: 'time' },
  { name: 'principal', label: 'Principal', hint: PREFIX, placeholder: 'alice' },
  { name: 'action', label: 'Action', hint: PREFIX, placeholder: 'http:*' },
  { name: 'resource', label: 'Resource id', hint: PREFIX, placeholder: 'prod/*' },
  { name: 'resourceKind', label: 'Resource kind', placeholder: 'environment' },
  {
    name: 'effect',
    label: 'Effect',
    kind: 'select',
    options: [
      { value: '', label: 'Any' },
      { value: 'allow', label: 'Allow' },
      { value: 'deny', label: 'Deny' },
      { value: 'step_up', label: 'Step-up' },
    ],
  },
  {
    name: 'rule',
    label: 'Rule',
    hint: 'policy/rule, or policy/* for any of its rules.',
    placeholder: 'policy/rule',
  },
  { name: 'agent', label: 'Agent', placeholder: 'agent id' },
  { name: 'revision', label: 'Revision', kind: 'number' },
];
const FILTER_NAMES = DECISION_FILTERS.map((field) => field.name);

/** The decision log, newest first, filtered from the URL and paged on the server. */
export function DecisionList() {
  const filters = useUrlFilters(FILTER_NAMES);
  const pages = useCursorPages(filters.key);
  const decisions = useQuery({
    queryKey: ['decisions', filters.key, pages.cursor],
    queryFn: ({ signal }) =>
      api<DecisionsResponse>('/v1/decisions', {
        query: { ...filters.values, limit: PAGE_SIZE, cursor: pages.cursor },
        signal,
      }),
    // The previous page stays on screen while the next one loads.
    placeholderData: keepPreviousData,
  });
  const rows = decisions.data?.decisions ?? [];
  return (
    <>
      <FilterForm
        key={filters.key}
        id="decision-filter"
        label="Decision filters"
        fields={DECISION_FILTERS}
        values={filters.values}
        onApply={filters.apply}
      />
      <ErrorMessage error={decisions.error} title="Could not load decisions" />
      {decisions.isPending ? <p aria-busy="true">Loading decisions…</p> : null}
      {decisions.data ? (
        <>
          <table aria-busy={decisions.isFetching} className="decision-table">
            <caption className="visually-hidden">Decisions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Effect</th>
                <th scope="col">Principal</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Rules</th>
                <th scope="col">Agent</th>
                <th scope="col">Revision</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((decision) => (
                <tr key={decision.decisionId}>
                  <th scope="row">
                    <Link href={decisionHref(decision.decisionId, filters.search)}>
                      <Time at={decision.at} />
                    </Link>
                  </th>
                  <td>
                    <EffectBadge effect={decision.effect} />
                    {decision.failReason ? (
                      <span className="muted"> (fail mode: {decision.failReason})</span>
                    ) : null}
                  </td>
                  <td className="principal">{decision.principal}</td>
                  <td>{decision.action}</td>
                  <td className="resource">
                    <span className="muted">{decision.resource.kind}:</span>
                    {decision.resource.id}
                  </td>
                  <td>
                    {decision.reasons.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      decision.reasons.map((reason) => (
                        <code key={ruleName(reason)} className="rule">
                          {ruleName(reason)}
                        </code>
                      ))
                    )}
                  </td>
                  <td>{decision.agentId}</td>
                  <td>{decision.revision}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 ? <p>No decision matches these filters.</p> : null}
          <Pager
            label="Decision"
            page={pages.page}
            nextCursor={decisions.isPlaceholderData ? null : decisions.data.nextCursor}
            onOlder={pages.older}
            onNewer={pages.newer}
          />
        </>
      ) : null}
    </>
  );
}
