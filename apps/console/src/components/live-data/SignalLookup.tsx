import { useQuery } from '@tanstack/react-query';
import type { SubjectSignalsResponse } from '@stepgate/protocol';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';
import { duration, until } from './live-data-api';

/** A value as a condition reads it (strings quoted, so "" and null differ). */
function shown(value: SubjectSignalsResponse['signals'][string]['value']): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * One subject's risk-signal values (GET /v1/signals/{subject}): every signal the active
 * version declares, with its window, aggregate and when the value falls back to zero.
 */
export function SignalLookup() {
  const [draft, setDraft] = useState('');
  const [subject, setSubject] = useState('');
  const signals = useQuery({
    queryKey: ['signals', subject],
    queryFn: ({ signal }) =>
      api<SubjectSignalsResponse>(`/v1/signals/${encodeURIComponent(subject)}`, { signal }),
    enabled: subject !== '',
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = draft.trim();
    if (next === subject) void signals.refetch();
    else setSubject(next);
  };
  const entries = Object.entries(signals.data?.signals ?? {});
  return (
    <section aria-labelledby="signals-title">
      <h2 id="signals-title">Signals</h2>
      <form className="filters" onSubmit={submit} role="search" aria-label="Signals of a subject">
        <div>
          <label htmlFor="signal-subject">Subject (principal id)</label>
          <input
            id="signal-subject"
            value={draft}
            maxLength={512}
            required
            onChange={(event) => setDraft(event.target.value)}
          />
        </div>
        <button type="submit" disabled={draft.trim() === ''}>
          Look up
        </button>
      </form>
      <ErrorMessage error={signals.error} title="Could not read the signals" />
      {signals.isFetching ? <p aria-busy="true">Reading signals…</p> : null}
      {signals.data ? (
        <>
          <p className="muted">
            Values of <strong>{signals.data.subject}</strong> at <Time at={signals.data.at} />
          </p>
          {entries.length === 0 ? (
            <p>
              The active version declares no signals (<code>signals:</code> in stepgate.yaml).
            </p>
          ) : (
            <table>
              <caption className="visually-hidden">Signals of {signals.data.subject}</caption>
              <thead>
                <tr>
                  <th scope="col">Signal</th>
                  <th scope="col">Value</th>
                  <th scope="col">Aggregate</th>
                  <th scope="col">Event</th>
                  <th scope="col">Window</th>
                  <th scope="col">Falls back to zero</th>
                </tr>
              </thead>
              <tbody>
                {entries.map(([name, signal]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>
                      <code>{shown(signal.value)}</code>
                    </td>
                    <td>
                      {signal.aggregate}
                      {signal.field ? <span className="muted"> of {signal.field}</span> : null}
                    </td>
                    <td>
                      <code>{signal.event}</code>
                    </td>
                    <td>{duration(signal.window)}</td>
                    <td>
                      {signal.expiresAt ? (
                        <>
                          <Time at={signal.expiresAt} />{' '}
                          <span className="muted">({until(signal.expiresAt)})</span>
                        </>
                      ) : (
                        <span className="muted">already zero</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </section>
  );
}
