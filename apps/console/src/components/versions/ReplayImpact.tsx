import { useQuery } from '@tanstack/react-query';
import type { ActivationHeld, Replay, VersionReplaySummary } from '@stepgate/protocol';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { Time } from '../Time';

/** How many groups of each breakdown the page lists (the replay keeps more). */
const TOP = 5;

function Breakdown({
  title,
  groups,
}: {
  title: string;
  groups: { label: string; count: number }[];
}) {
  if (groups.length === 0) return null;
  const name = title.replace(/^By /, '');
  const column = name.charAt(0).toUpperCase() + name.slice(1);
  return (
    <table className="compact">
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">{column}</th>
          <th scope="col">Changed decisions</th>
        </tr>
      </thead>
      <tbody>
        {groups.slice(0, TOP).map((group) => (
          <tr key={group.label}>
            <th scope="row">
              <code>{group.label}</code>
            </th>
            <td>{group.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * What the version would change: the replay the sync ran of it over the 24 h before it was
 * recorded (totals, the largest from → to changes), and once done the full report's breakdown
 * by rule, principal and action. Also why the activation gate holds it, if it does.
 */
export function ReplayImpact({
  replay,
  held,
}: {
  replay: VersionReplaySummary | null;
  held: ActivationHeld | null;
}) {
  const done = replay?.status === 'done';
  const report = useQuery({
    queryKey: ['replays', replay?.id],
    queryFn: ({ signal }) => api<Replay>(`/v1/replays/${replay?.id}`, { signal }),
    enabled: done,
  });
  return (
    <>
      {held ? (
        <div className="held-notice">
          <strong>Held by the activation gate:</strong> {held.reason}
          {held.changed !== null && held.total !== null
            ? ` (${held.changed} of ${held.total} replayed decisions change; the limit is ${held.limit}).`
            : ` (the limit is ${held.limit}).`}{' '}
          Activating it needs a reason.
        </div>
      ) : null}
      {!replay ? (
        <p className="muted">No replay was run of this version.</p>
      ) : (
        <>
          <p>
            Replay of the decisions from <Time at={replay.since} /> to <Time at={replay.until} />:{' '}
            <strong>{replay.status}</strong>.
          </p>
          {replay.error ? <ErrorMessage error={replay.error} title="The replay failed" /> : null}
          {replay.totals ? (
            <p className="summary">
              {replay.totals.changed} of {replay.totals.replayed} replayed decisions change ·{' '}
              {replay.totals.records} records read · {replay.totals.notReplayable} not replayable
            </p>
          ) : null}
          <div className="breakdowns">
            <Breakdown
              title="By change"
              groups={replay.changes.map((c) => ({ label: c.change, count: c.count }))}
            />
            {report.data?.result ? (
              <>
                <Breakdown
                  title="By rule"
                  groups={report.data.result.byRule.map((g) => ({
                    label: `${g.policy}/${g.rule}`,
                    count: g.count,
                  }))}
                />
                <Breakdown
                  title="By principal"
                  groups={report.data.result.byPrincipal.map((g) => ({
                    label: g.principal,
                    count: g.count,
                  }))}
                />
                <Breakdown
                  title="By action"
                  groups={report.data.result.byAction.map((g) => ({
                    label: g.action,
                    count: g.count,
                  }))}
                />
              </>
            ) : null}
          </div>
          <ErrorMessage error={report.error} title="Could not load the replay report" />
        </>
      )}
    </>
  );
}
