import { useQuery } from '@tanstack/react-query';
import type { DecisionStats, DecisionTimeline, FleetView, VersionView } from '@stepgate/protocol';
import { useSearchParams } from 'wouter';
import { api } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { DecisionCharts } from '../components/overview/DecisionCharts';
import { FleetCards } from '../components/overview/FleetCards';
import { TopList } from '../components/overview/TopList';
import { WINDOWS, windowRange, type WindowKey } from '../components/overview/windows';
import { useTitle } from '../components/useTitle';

const REFRESH_MS = 10_000;
/** The newest versions read to find the active one (it is usually among the first). */
const VERSIONS_READ = 50;

/**
 * The state of the deployment at a glance: the active version and how far the fleet converged,
 * decisions over time by effect and the step-up rate, and the rules and principals behind the
 * denials and step-ups of the chosen window (`?window=15m|1h|24h|7d`). Refreshed every 10 s. `data-ready` turns true once
 * every query has answered (or failed): the bench times the page to that point.
 */
export function OverviewPage() {
  useTitle('Overview');
  // The window is in the URL (`?window=24h`), so a link or a reload keeps it.
  const [params, setParams] = useSearchParams();
  const requested = params.get('window') ?? '';
  const windowKey: WindowKey = Object.hasOwn(WINDOWS, requested) ? (requested as WindowKey) : '1h';
  const range = WINDOWS[windowKey];
  const refresh = { refetchInterval: REFRESH_MS };
  const versions = useQuery({
    queryKey: ['versions', VERSIONS_READ],
    queryFn: ({ signal }) =>
      api<{ versions: VersionView[] }>('/v1/versions', {
        query: { limit: VERSIONS_READ },
        signal,
      }),
    ...refresh,
  });
  const fleet = useQuery({
    queryKey: ['fleet'],
    queryFn: ({ signal }) => api<FleetView>('/v1/fleet', { signal }),
    ...refresh,
  });
  // The window ends now at every refresh, hence computed inside the query functions.
  const stats = useQuery({
    queryKey: ['decision-stats', windowKey],
    queryFn: ({ signal }) =>
      api<DecisionStats>('/v1/decisions/stats', { query: windowRange(range), signal }),
    placeholderData: (previous) => previous,
    ...refresh,
  });
  const timeline = useQuery({
    queryKey: ['decision-timeline', windowKey],
    queryFn: ({ signal }) =>
      api<DecisionTimeline>('/v1/decisions/timeline', {
        query: { ...windowRange(range), bucket: range.bucketSeconds },
        signal,
      }),
    placeholderData: (previous) => previous,
    ...refresh,
  });
  const ready = [versions, fleet, stats, timeline].every((query) => !query.isPending);
  const decisionsError = stats.error ?? timeline.error;
  return (
    <section aria-labelledby="overview-title" data-ready={ready ? 'true' : 'false'}>
      <h1 id="overview-title">Overview</h1>
      <ErrorMessage error={versions.error ?? fleet.error} title="Could not load the fleet" />
      <FleetCards fleet={fleet.data} versions={versions.data?.versions} read={VERSIONS_READ} />

      <div className="overview-heading">
        <h2 id="overview-decisions">Decisions</h2>
        <div>
          <label htmlFor="overview-window">Window</label>
          <select
            id="overview-window"
            value={windowKey}
            onChange={(event) => setParams({ window: event.target.value }, { replace: true })}
          >
            {Object.entries(WINDOWS).map(([key, option]) => (
              <option key={key} value={key}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorMessage error={decisionsError} title="Could not load the decisions" />
      {stats.isPending || timeline.isPending ? <p aria-busy="true">Loading decisions…</p> : null}
      {stats.data ? <EffectCounts stats={stats.data} window={range.label} /> : null}
      {timeline.data ? <DecisionCharts timeline={timeline.data} window={range.label} /> : null}
      {stats.data ? (
        <div className="overview-tops">
          <TopList
            title="Top denied rules"
            rows={stats.data.topDenyRules.map((row) => ({
              name: row.rule,
              count: row.count,
              href: `/decisions?${new URLSearchParams({ rule: row.rule })}`,
            }))}
          />
          <TopList
            title="Top step-up rules"
            rows={stats.data.topStepUpRules.map((row) => ({
              name: row.rule,
              count: row.count,
              href: `/decisions?${new URLSearchParams({ rule: row.rule })}`,
            }))}
          />
          <TopList
            title="Top denied principals"
            rows={stats.data.topDeniedPrincipals.map((row) => ({
              name: row.principal,
              count: row.count,
              href: `/decisions?${new URLSearchParams({ principal: row.principal, effect: 'deny' })}`,
            }))}
          />
          <TopList
            title="Top stepped-up principals"
            rows={stats.data.topSteppedUpPrincipals.map((row) => ({
              name: row.principal,
              count: row.count,
              href: `/decisions?${new URLSearchParams({ principal: row.principal, effect: 'step_up' })}`,
            }))}
          />
        </div>
      ) : null}
    </section>
  );
}

const share = (part: number, total: number) =>
  total === 0 ? '—' : `${((part / total) * 100).toFixed(1)} %`;

/** Totals of the window by effect, as text (the charts show the same over time). */
function EffectCounts({ stats, window }: { stats: DecisionStats; window: string }) {
  const { allow, deny, step_up: stepUp } = stats.byEffect;
  return (
    <dl className="overview-counts" aria-label={`Decisions in the ${window}`}>
      <div>
        <dt>Decisions</dt>
        <dd data-effect="total">{stats.total.toLocaleString()}</dd>
      </div>
      <div>
        <dt>Allowed</dt>
        <dd data-effect="allow">
          {allow.toLocaleString()} <span className="muted">({share(allow, stats.total)})</span>
        </dd>
      </div>
      <div>
        <dt>Denied</dt>
        <dd data-effect="deny">
          {deny.toLocaleString()} <span className="muted">({share(deny, stats.total)})</span>
        </dd>
      </div>
      <div>
        <dt>Stepped up</dt>
        <dd data-effect="step_up">
          {stepUp.toLocaleString()} <span className="muted">({share(stepUp, stats.total)})</span>
        </dd>
      </div>
      {stats.byFailReason.length ? (
        <div>
          <dt>By fail mode</dt>
          <dd>
            {stats.byFailReason
              .map((row) => `${row.reason}: ${row.count.toLocaleString()}`)
              .join(', ')}
          </dd>
        </div>
      ) : null}
    </dl>
  );
}
