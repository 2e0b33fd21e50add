import { useQuery } from '@tanstack/react-query';
import type { AgentView, FleetView } from '@stepgate/protocol';
import { useState } from 'react';
import { api } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { age, Time } from '../components/Time';
import { useTitle } from '../components/useTitle';

type StatusFilter = '' | 'connected' | 'disconnected';

/** The fleet: every agent with its labels, revisions, last contact and connection state. */
export function AgentsPage() {
  useTitle('Agents');
  const [status, setStatus] = useState<StatusFilter>('');
  const fleet = useQuery({
    queryKey: ['fleet'],
    queryFn: ({ signal }) => api<FleetView>('/v1/fleet', { signal }),
    refetchInterval: 5_000,
  });
  const agents = useQuery({
    queryKey: ['agents', status],
    queryFn: ({ signal }) =>
      api<{ agents: AgentView[] }>('/v1/agents', { query: { status }, signal }),
    refetchInterval: 5_000,
  });
  const activeRevision = fleet.data?.activeRevision ?? null;
  const dataRevision = fleet.data?.data.revision ?? null;
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <ErrorMessage error={fleet.error ?? agents.error} title="Could not load the fleet" />
      {fleet.data ? (
        <p className="summary">
          {fleet.data.agents.connected} of {fleet.data.agents.total} connected · active revision{' '}
          {activeRevision ?? 'none'} ·{' '}
          {fleet.data.converged ? 'converged' : `${fleet.data.behind.length} behind`} · data
          revision {dataRevision}
        </p>
      ) : null}
      <div className="filters">
        <label htmlFor="agent-status">Connection</label>
        <select
          id="agent-status"
          value={status}
          onChange={(event) => setStatus(event.target.value as StatusFilter)}
        >
          <option value="">All</option>
          <option value="connected">Connected</option>
          <option value="disconnected">Disconnected</option>
        </select>
      </div>
      {agents.isPending ? <p aria-busy="true">Loading agents…</p> : null}
      {agents.data ? (
        <table>
          <caption className="visually-hidden">Agents</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Labels</th>
              <th scope="col">State</th>
              <th scope="col">Revision</th>
              <th scope="col">Data revision</th>
              <th scope="col">Last seen</th>
              <th scope="col">Version</th>
            </tr>
          </thead>
          <tbody>
            {agents.data.agents.map((agent) => {
              const stale = activeRevision !== null && agent.activeRevision !== activeRevision;
              return (
                <tr key={agent.id}>
                  <th scope="row">{agent.id}</th>
                  <td>
                    {Object.entries(agent.labels).map(([key, value]) => (
                      <span key={key} className="tag">
                        {key}={value}
                      </span>
                    ))}
                  </td>
                  <td>
                    <span className={`badge ${agent.status}`}>{agent.status}</span>
                    {agent.suspect ? <span className="badge deny">suspect revision</span> : null}
                  </td>
                  <td>
                    {agent.activeRevision ?? '—'}
                    {stale ? <span className="badge step_up">behind</span> : null}
                  </td>
                  <td>
                    {agent.dataRevision}
                    {dataRevision !== null && agent.dataRevision < dataRevision ? (
                      <span className="badge step_up">stale</span>
                    ) : null}
                  </td>
                  <td>
                    <Time at={agent.lastSeenAt} />{' '}
                    <span className="muted">({age(agent.lastSeenAt)})</span>
                  </td>
                  <td>{agent.agentVersion ?? '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {agents.data?.agents.length === 0 ? <p>No agent has connected yet.</p> : null}
    </section>
  );
}
