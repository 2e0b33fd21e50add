import type { FleetView, VersionView } from '@stepgate/protocol';
import { Link } from 'wouter';
import { age } from '../Time';

/**
 * The active version and how far the fleet enforces it: connected agents by policy revision
 * and by live-data revision, and which ones are behind.
 */
export function FleetCards({
  fleet,
  versions,
  read,
}: {
  fleet: FleetView | undefined;
  versions: VersionView[] | undefined;
  /** How many of the newest versions `versions` holds (the active one may be older). */
  read: number;
}) {
  if (!fleet) return null;
  const active = versions?.find((version) => version.active);
  const shadow = versions?.find((version) => version.shadow);
  const waiting = versions?.filter(
    (version) =>
      version.status === 'ready' && !version.active && active && version.number > active.number,
  ).length;
  const connected = fleet.agents.connected;
  return (
    <div className="cards overview-cards">
      <section className="card" aria-labelledby="overview-active">
        <h2 id="overview-active">Active version</h2>
        {active ? (
          <>
            <p className="overview-figure">
              <Link href={`/versions/${active.number}`}>v{active.number}</Link>
              <span className="muted"> · {active.sha.slice(0, 7)}</span>
            </p>
            <p>
              {active.message.split('\n')[0]}
              <br />
              <span className="muted">
                by {active.author}, {age(active.createdAt)}
              </span>
            </p>
          </>
        ) : (
          <p className="overview-figure">
            {fleet.activeRevision === null
              ? 'none'
              : versions
                ? `not among the ${read} newest`
                : '…'}
          </p>
        )}
        <p>
          Revision <strong data-testid="active-revision">{fleet.activeRevision ?? '—'}</strong>{' '}
          <span className="muted">(live revision {fleet.revision})</span>
        </p>
        {shadow ? <p>Shadow: v{shadow.number}</p> : null}
        {waiting ? (
          <p>
            {waiting} newer ready version{waiting === 1 ? '' : 's'} not active
          </p>
        ) : null}
      </section>

      <section className="card" aria-labelledby="overview-convergence">
        <h2 id="overview-convergence">Policy convergence</h2>
        <p className="overview-figure">
          {connected === 0
            ? 'No agent connected'
            : fleet.converged
              ? `${connected} of ${connected} converged`
              : `${connected - fleet.behind.length} of ${connected} converged`}
        </p>
        <p className="muted">
          {fleet.agents.total - connected} disconnected of {fleet.agents.total}
          {fleet.propagation.seconds !== null
            ? ` · last activation reached the fleet in ${fleet.propagation.seconds.toFixed(1)} s`
            : ''}
        </p>
        <table>
          <caption className="visually-hidden">Connected agents by policy revision</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Agents</th>
            </tr>
          </thead>
          <tbody>
            {fleet.byRevision.map((row) => (
              <tr key={row.revision ?? 'none'}>
                <th scope="row">
                  {row.revision ?? 'none'}
                  {row.revision === fleet.activeRevision ? (
                    <span className="badge allow">active</span>
                  ) : (
                    <span className="badge step_up">behind</span>
                  )}
                </th>
                <td>{row.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {fleet.behind.length ? (
          <p>
            Behind: {fleet.behind.map((agent) => agent.id).join(', ')}{' '}
            <Link href="/agents">see the agents</Link>
          </p>
        ) : null}
        {fleet.suspect.length ? (
          <p>
            <span className="badge deny">suspect</span> {fleet.suspect.length} agent
            {fleet.suspect.length === 1 ? '' : 's'} report a revision never issued
          </p>
        ) : null}
      </section>

      <section className="card" aria-labelledby="overview-data">
        <h2 id="overview-data">Live data</h2>
        <p className="overview-figure">Data revision {fleet.data.revision}</p>
        <p>
          {fleet.data.converged ? (
            <span className="badge allow">all connected agents have it</span>
          ) : (
            <span className="badge step_up">
              {fleet.data.behind.length} agent{fleet.data.behind.length === 1 ? '' : 's'} behind
            </span>
          )}
        </p>
        {fleet.data.behind.length ? (
          <ul className="overview-behind">
            {fleet.data.behind.map((agent) => (
              <li key={agent.id}>
                {agent.id} at data revision {agent.dataRevision}
              </li>
            ))}
          </ul>
        ) : null}
      </section>
    </div>
  );
}
