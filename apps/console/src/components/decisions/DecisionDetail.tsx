import { useQuery } from '@tanstack/react-query';
import type { DecisionView } from '@stepgate/protocol';
import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';
import { EffectBadge, formatDuration, ruleName } from './decision-format';

type Reason = DecisionView['reasons'][number];

/** One decision with everything its record holds: what was asked, what decided it, and how. */
export function DecisionDetail({ id, listSearch }: { id: string; listSearch: string }) {
  const decision = useQuery({
    queryKey: ['decision', id],
    queryFn: ({ signal }) =>
      api<DecisionView>(`/v1/decisions/${encodeURIComponent(id)}`, { signal }),
  });
  const back = `/decisions${listSearch ? `?${listSearch}` : ''}`;
  const d = decision.data;
  return (
    <>
      <p>
        <Link href={back}>← Back to the decisions</Link>
      </p>
      <ErrorMessage error={decision.error} title="Could not load this decision" />
      {decision.isPending ? <p aria-busy="true">Loading the decision…</p> : null}
      {d ? (
        <>
          <p className="summary">
            <EffectBadge effect={d.effect} /> <strong>{d.principal}</strong> · {d.action} ·{' '}
            {d.resource.kind}:{d.resource.id}
          </p>
          <dl className="decision-facts">
            <Fact term="Decision id">
              <code>{d.decisionId}</code>
            </Fact>
            <Fact term="Decided at">
              <Time at={d.at} />
            </Fact>
            <Fact term="Received at">
              <Time at={d.receivedAt} />
            </Fact>
            <Fact term="Agent">
              <Link href={`/decisions?agent=${encodeURIComponent(d.agentId)}`}>{d.agentId}</Link>
            </Fact>
            <Fact term="Revision">{d.revision}</Fact>
            <Fact term="Data revision">{d.dataRevision ?? 'none (no live data held)'}</Fact>
            <Fact term="Duration">{formatDuration(d.durationNs)}</Fact>
            <Fact term="Errors">{d.errors}</Fact>
            {d.failReason ? <Fact term="Fail mode">{d.failReason}</Fact> : null}
          </dl>

          <h2>Reasons</h2>
          <ReasonTable reasons={d.reasons} caption="Rules that matched" />

          <h2>Requirement</h2>
          {d.require ? <Json value={d.require} label="requirement" /> : <p>None.</p>}

          <h2>Evidence</h2>
          {d.replay?.evidence && Object.keys(d.replay.evidence).length > 0 ? (
            <dl className="decision-facts">
              {Object.entries(d.replay.evidence).map(([name, value]) => (
                <Fact key={name} term={name}>
                  {Array.isArray(value) ? value.join(', ') || '—' : String(value)}
                </Fact>
              ))}
            </dl>
          ) : (
            <p>
              {d.replay
                ? 'No verified evidence was presented.'
                : 'Not recorded (an agent from before replay).'}
            </p>
          )}
          {d.replay?.masked?.length ? (
            <p>
              Masked in the input: <code>{d.replay.masked.join(', ')}</code>
            </p>
          ) : null}

          <h2>Signals</h2>
          {d.signals && Object.keys(d.signals).length > 0 ? (
            <table>
              <caption className="visually-hidden">Risk-signal values the decision read</caption>
              <thead>
                <tr>
                  <th scope="col">Signal</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(d.signals).map(([name, value]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>
                      <code>{JSON.stringify(value)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>None declared.</p>
          )}

          <h2>Shadow result</h2>
          {d.shadow ? (
            <>
              <p>
                <EffectBadge effect={d.shadow.effect} /> with revision{' '}
                {d.shadow.revision ?? 'unknown'}
                {d.shadow.effect !== d.effect ? (
                  <strong> (differs from the active version)</strong>
                ) : (
                  ' (same as the active version)'
                )}
              </p>
              <ReasonTable reasons={d.shadow.reasons} caption="Rules that matched in shadow" />
            </>
          ) : (
            <p>No shadow version was evaluated.</p>
          )}

          <h2>Input</h2>
          {d.input === null || d.input === undefined ? (
            <p>Not recorded.</p>
          ) : (
            <Json value={d.input} label="decision input" />
          )}
        </>
      ) : null}
    </>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Json({ value, label }: { value: unknown; label: string }) {
  // A scrollable region must be reachable by keyboard (tabIndex) and named.
  return (
    <pre tabIndex={0} aria-label={label} className="json">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function ReasonTable({ reasons, caption }: { reasons: Reason[]; caption: string }) {
  if (reasons.length === 0) return <p>No rule matched.</p>;
  return (
    <table>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Policy</th>
          <th scope="col">Rule</th>
          <th scope="col">Effect</th>
          <th scope="col">Filter</th>
        </tr>
      </thead>
      <tbody>
        {reasons.map((reason) => (
          <tr key={ruleName(reason)}>
            <td>{reason.policy}</td>
            <th scope="row">{reason.rule}</th>
            <td>
              <EffectBadge effect={reason.effect} />
            </td>
            <td>
              <Link href={`/decisions?rule=${encodeURIComponent(ruleName(reason))}`}>
                Decisions by this rule
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
