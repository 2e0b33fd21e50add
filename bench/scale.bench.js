#!/usr/bin/env node
// Distribution at scale, against a real control plane (own database, Redis prefix and data dir,
// dropped at the end) and N simulated agents (socket.io-client over WebSocket, spread over 2-4
// processes, acking every bundle at once), for N = 1,000 and 10,000 in turn:
//  - connect time; control-plane RSS and CPU while idly holding them;
//  - activation -> last agent's ack, p50/p99 over repeated activations and rollbacks
//    (alternating between two ready versions), with CPU and /healthz latency meanwhile;
//  - reconnect storm: every socket's transport closed at once, a new revision activated while
//    they are away, then every agent back within the agent's first retry window (1 s ± 50 %):
//    time until all are connected and all hold the new revision (sent on connect).
// `node bench/scale.bench.js [--quick] [--json]` after `npm run build`.
// Knobs: BENCH_SCALE_AGENTS=1000,10000  BENCH_SCALE_REPS (activations and rollbacks each)
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  api,
  cloneEmbedded,
  commitNewPolicy,
  gitOk,
  listVersions,
  startFleetBench,
  waitForVersion,
} from './support/control-plane.js';
import { Cleanups, isMain, runStandalone } from './support/cleanups.js';
import {
  cpuMeter,
  median,
  memoryOf,
  now,
  percentile,
  sleep,
  waitFor,
} from './support/processes.js';
import { SimFleet } from './support/sim-fleet.js';

/** docs/architecture.md, "Targets". */
const TARGETS = {
  rssMiB: 1024,
  rssAgents: 10_000,
  rollbackP99Ms: 500,
  rollbackAgents: 1000,
};

function config(quick) {
  const counts = (process.env.BENCH_SCALE_AGENTS ?? '1000,10000')
    .split(',')
    .map((n) => Number(n.trim()))
    .filter((n) => n > 0);
  return {
    agentCounts: counts,
    reps: Number(process.env.BENCH_SCALE_REPS ?? (quick ? 2 : 6)),
    holdMs: quick ? 2000 : 4000,
    /** 2,500 sockets per process at most (ulimit -n is 20,000 here; the CP holds one per agent). */
    processes: (agents) => Math.min(4, Math.max(2, Math.ceil(agents / 2500))),
    /** The agent's first reconnect: socket.io's 1 s delay with its 0.5 randomization factor. */
    storm: { minDelayMs: 500, maxDelayMs: 1500 },
    /** Per change: far above any target, only so a lost ack cannot hang the run. */
    ackTimeoutMs: 60_000,
  };
}

const label = (n) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));
const fmtMs = (v) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) : 'n/a');
const fmt1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

/** Polls GET /healthz; `stop()` gives the latencies seen (an event-loop stall shows here). */
function healthProbe(cp, intervalMs = 50) {
  const latencies = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = now();
      try {
        await fetch(`${cp.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
        latencies.push(now() - started);
      } catch {
        latencies.push(10_000);
      }
      await sleep(intervalMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return {
      p50: median(latencies),
      p99: percentile(latencies, 0.99),
      max: Math.max(...latencies),
    };
  };
}

/** Waits until the control plane's fleet view shows every connected agent on `revision`. */
async function recorded(cp, revision, agents, timeoutMs) {
  const started = now();
  let view;
  try {
    await waitFor(
      `the fleet view to record ${agents} agents on revision ${revision}`,
      async () => {
        view = await api(cp, 'GET', '/v1/fleet');
        return (
          view.activeRevision === revision && view.converged && view.agents.connected >= agents
        );
      },
      timeoutMs,
      200,
    );
  } catch {
    return { ms: NaN, view };
  }
  return { ms: now() - started, view };
}

async function change(cp, fleet, cfg, kind, call) {
  const started = now();
  const body = await call();
  const callMs = now() - started;
  const acked = await fleet.waitForRevision((r) => r === body.revision, cfg.ackTimeoutMs);
  const times = acked.times.map((t) => t - started);
  return {
    kind,
    revision: body.revision,
    callMs,
    lastAckMs: Math.max(...times),
    medianAckMs: median(times),
  };
}

async function benchN(cp, tokensFor, agents, cfg, cleanups, log) {
  const runId = randomBytes(3).toString('hex');
  const processes = cfg.processes(agents);
  log(`N=${agents}: connecting over ${processes} processes`);
  const fleet = new SimFleet({
    url: cp.url,
    tokensFor,
    agents,
    processes,
    runId,
    concurrency: 100,
  });
  const closeFleet = cleanups.add(() => fleet.close());
  const connectCpu = cpuMeter(cp.pid);
  const connection = await fleet.connect(180_000);
  let revision = (await api(cp, 'GET', '/v1/fleet')).activeRevision;
  await fleet.waitForRevision((r) => r === revision, cfg.ackTimeoutMs);
  const connectCores = connectCpu().cores;
  const settle = await recorded(cp, revision, agents, 60_000);
  log(
    `N=${agents}: connected in ${connection.seconds.toFixed(1)} s (CP ${fmt1(connectCores * 100)} % CPU), all on revision ${revision} (recorded ${fmtMs(settle.ms)} ms later)`,
  );

  await sleep(1000);
  const idle = cpuMeter(cp.pid);
  await sleep(cfg.holdMs);
  const holding = { rssMiB: memoryOf(cp.pid)?.rssMiB, cores: idle().cores };

  // The two newest ready versions: activate the one not active, then roll back to the other.
  const [newest, previous] = (await listVersions(cp))
    .filter((v) => v.status === 'ready')
    .sort((a, b) => b.number - a.number);
  if (!previous) throw new Error('need two ready versions to alternate between');
  const other = newest.active ? previous : newest;

  const changes = [];
  const recordMs = [];
  const probe = healthProbe(cp);
  const changeCpu = cpuMeter(cp.pid);
  for (let i = 0; i < cfg.reps; i++) {
    for (const [kind, call] of [
      [
        'activate',
        () => api(cp, 'POST', `/v1/versions/${other.number}/activate`, { reason: `scale ${i}` }),
      ],
      ['rollback', () => api(cp, 'POST', '/v1/rollback', { reason: `scale ${i}` })],
    ]) {
      const c = await change(cp, fleet, cfg, kind, call);
      changes.push(c);
      revision = c.revision;
      // The next change starts once the control plane has written every ack, so one change's
      // backlog is never measured as the next one's latency.
      const rec = await recorded(cp, revision, agents, 60_000);
      recordMs.push(rec.ms + c.lastAckMs);
    }
    const [a, r] = changes.slice(-2);
    log(
      `N=${agents} rep ${i + 1}/${cfg.reps}: activate ${fmtMs(a.lastAckMs)} ms, rollback ${fmtMs(r.lastAckMs)} ms`,
    );
  }
  const cpuChanges = changeCpu();
  const health = await probe();
  const afterChanges = memoryOf(cp.pid);

  // Reconnect storm: all dropped, the other version activated while they are away, all back.
  log(`N=${agents}: reconnect storm`);
  const stormCpu = cpuMeter(cp.pid);
  await fleet.dropAll();
  const stormChange = await api(cp, 'POST', `/v1/versions/${other.number}/activate`, {
    reason: 'scale storm',
  });
  const back = await fleet.reconnectAll({ ...cfg.storm, timeoutMs: 180_000 });
  const onRevision = await fleet.waitForRevision(
    (r) => r === stormChange.revision,
    cfg.ackTimeoutMs * 2,
  );
  const stormCores = stormCpu().cores;
  const connectedMs = Math.max(...back.times) - back.startedAt;
  const revisionTimes = onRevision.times.map((t) => t - back.startedAt);
  const storm = {
    allConnectedMs: connectedMs,
    allOnRevisionMs: Math.max(...revisionTimes),
    medianOnRevisionMs: median(revisionTimes),
    attempts: back.attempts,
    errors: back.errors,
    cores: stormCores,
  };
  const stormRecorded = await recorded(cp, stormChange.revision, agents, 60_000);
  storm.recordedMs = stormRecorded.ms + storm.allOnRevisionMs;
  const peak = memoryOf(cp.pid);
  log(
    `N=${agents}: storm: all connected after ${fmtMs(connectedMs)} ms, all on revision ${stormChange.revision} after ${fmtMs(storm.allOnRevisionMs)} ms (${back.attempts} attempts)`,
  );
  const simStats = await fleet.stats().catch(() => []);
  await closeFleet();
  // Let the control plane record the disconnects before the next N connects.
  await sleep(2000);

  const pick = (kind, field) => changes.filter((c) => c.kind === kind).map((c) => c[field]);
  const stat = (values) => ({ p50: median(values), p99: percentile(values, 0.99) });
  return {
    agents,
    processes,
    connectSeconds: connection.seconds,
    connectRetries: connection.retried,
    connectCores,
    holding,
    activate: stat(pick('activate', 'lastAckMs')),
    rollback: stat(pick('rollback', 'lastAckMs')),
    all: stat(changes.map((c) => c.lastAckMs)),
    medianAgent: stat(changes.map((c) => c.medianAckMs)),
    callMs: stat(changes.map((c) => c.callMs)),
    recordedMs: stat(recordMs),
    changes: changes.length,
    changeCores: cpuChanges.cores,
    cpuSecondsPerChange: cpuChanges.cpuSeconds / changes.length,
    health,
    rssMiBAfterChanges: afterChanges?.rssMiB,
    peakRssMiB: peak?.peakRssMiB,
    storm,
    simStats,
  };
}

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick = false, log = (line) => console.error(line) } = {}) {
  const cfg = config(quick);
  const cleanups = new Cleanups();
  try {
    const { busy, cp, tokensFor } = await startFleetBench(cleanups, 'bench-scale', log);
    const work = await cloneEmbedded(cp);
    cleanups.add(() => rmSync(work, { recursive: true, force: true }));
    await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active, 60_000);
    // A second ready version to alternate with.
    const second = await commitNewPolicy(work, `scale-${randomBytes(3).toString('hex')}`);
    await gitOk(['push', '--quiet', 'origin', 'main'], work);
    await waitForVersion(cp, second, (v) => v.active, 60_000);
    const bundleBytes = (await api(cp, 'GET', '/v1/bundles/active')).jws.length;
    await sleep(1000);
    const baseline = { rssMiB: memoryOf(cp.pid)?.rssMiB };
    log(
      `control plane up: RSS ${fmt1(baseline.rssMiB)} MiB, bundle ${(bundleBytes / 1024).toFixed(0)} KiB`,
    );

    const results = [];
    for (const agents of cfg.agentCounts)
      results.push(await benchN(cp, tokensFor, agents, cfg, cleanups, log));
    return section(results, { cfg, baseline, bundleBytes, busy, quick });
  } finally {
    await cleanups.run();
  }
}

/** @returns {import('./report/section.js').BenchSection} */
function section(results, { cfg, baseline, bundleBytes, busy, quick }) {
  const byN = new Map(results.map((r) => [r.agents, r]));
  const metrics = { rss_baseline_mib: baseline.rssMiB, bundle_kib: bundleBytes / 1024 };
  for (const r of results) {
    const n = label(r.agents);
    Object.assign(metrics, {
      [`connect_s_${n}`]: r.connectSeconds,
      [`activate_p50_ms_${n}`]: r.activate.p50,
      [`activate_p99_ms_${n}`]: r.activate.p99,
      [`rollback_p50_ms_${n}`]: r.rollback.p50,
      [`rollback_p99_ms_${n}`]: r.rollback.p99,
      [`last_ack_p99_ms_${n}`]: r.all.p99,
      [`recorded_p99_ms_${n}`]: r.recordedMs.p99,
      [`rss_mib_${n}`]: r.holding.rssMiB,
      [`peak_rss_mib_${n}`]: r.peakRssMiB,
      [`cpu_idle_pct_${n}`]: r.holding.cores * 100,
      [`cpu_changes_pct_${n}`]: r.changeCores * 100,
      [`cpu_ms_per_change_${n}`]: r.cpuSecondsPerChange * 1000,
      [`healthz_max_ms_${n}`]: r.health.max,
      [`storm_connected_ms_${n}`]: r.storm.allConnectedMs,
      [`storm_on_revision_ms_${n}`]: r.storm.allOnRevisionMs,
    });
  }
  const largest = results.reduce((a, b) => (b.agents > a.agents ? b : a), results[0]);
  if (largest && Number.isFinite(baseline.rssMiB))
    metrics.rss_per_1k_agents_mib =
      (largest.holding.rssMiB - baseline.rssMiB) / (largest.agents / 1000);

  const ratios = {};
  const small = byN.get(1000);
  const big = byN.get(10_000);
  if (small && big) {
    ratios.p99_10k_vs_1k = {
      value: big.all.p99 / small.all.p99,
      better: 'lower',
      description: 'activation/rollback -> last ack p99 with 10,000 agents / with 1,000',
    };
    ratios.storm_10k_vs_1k = {
      value: big.storm.allOnRevisionMs / small.storm.allOnRevisionMs,
      better: 'lower',
      // The 1,000-agent storm is mostly the agents' own 0.5-1.5 s random reconnect delay, so
      // the ratio swings by more than 30 % between runs (6.6 vs 10.6 on the same commit).
      checked: false,
      description:
        "reconnect storm -> all on the current revision, 10,000 agents / 1,000 (not checked: the 1,000 side is mostly the agents' reconnect delay)",
    };
    ratios.cpu_per_change_10k_vs_1k = {
      value: big.cpuSecondsPerChange / small.cpuSecondsPerChange,
      better: 'lower',
      description: 'control-plane CPU-seconds per activation, 10,000 agents / 1,000',
    };
    ratios.rss_10k_vs_1k = {
      value: big.holding.rssMiB / small.holding.rssMiB,
      better: 'lower',
      description: 'control-plane RSS holding 10,000 agents / holding 1,000',
    };
  }

  const rows = (f) => results.map((r) => [r.agents.toLocaleString('en-US'), ...f(r)]);
  const notes = [
    `Simulated agents: socket.io-client over WebSocket in ${results.map((r) => `${r.processes} processes for ${label(r.agents)}`).join(', ')}; each acks a bundle as soon as it arrives (no verification), so the times are the control plane's and the transport's. Times are from the API call to the agent receiving the bundle.`,
    `Activations and rollbacks alternate between two ready versions, ${cfg.reps} of each per N; the next starts once the fleet view has recorded every ack ("recorded").`,
    `Reconnect storm: every socket's transport is closed at once (the control plane sees N "transport close"), another version is activated while they are away, and each agent reconnects after a random 0.5-1.5 s (the agent's first retry: 1 s ± 50 %), announcing the revision it holds; times are from the reconnect start, so 1.5 s is the floor.`,
    'CPU is the control-plane process (user+system) as a share of one core; RSS from /proc. The /healthz latency is polled every 50 ms during the activations (a stalled event loop shows there).',
  ];
  if (busy > 0.1)
    notes.push(
      `The machine was ${(busy * 100).toFixed(0)} % busy with other processes before the run: figures are pessimistic.`,
    );
  if (quick)
    notes.push(`Quick mode: ${cfg.reps} activations and rollbacks per N, shorter idle hold.`);
  if (big)
    notes.push(
      `Target ${TARGETS.rssAgents.toLocaleString('en-US')} agents per replica < 1 GiB RSS: RSS ${fmt1(big.holding.rssMiB)} MiB holding, peak ${fmt1(big.peakRssMiB)} MiB — ${big.peakRssMiB < TARGETS.rssMiB ? 'met' : 'NOT met'}.`,
    );
  if (small)
    notes.push(
      `Target rollback -> every one of 1,000 agents p99 < ${TARGETS.rollbackP99Ms} ms: ${fmtMs(small.rollback.p99)} ms — ${small.rollback.p99 < TARGETS.rollbackP99Ms ? 'met' : 'NOT met'}.`,
    );

  return {
    id: 'scale',
    title: 'Distribution at scale: one control plane, 1,000 and 10,000 simulated agents',
    tables: [
      {
        title: 'Activation / rollback -> last agent acked (ms)',
        columns: [
          'agents',
          'activate p50',
          'activate p99',
          'rollback p50',
          'rollback p99',
          'median agent p50',
          'API call p50',
          'recorded by CP p99',
        ],
        rows: rows((r) => [
          fmtMs(r.activate.p50),
          fmtMs(r.activate.p99),
          fmtMs(r.rollback.p50),
          fmtMs(r.rollback.p99),
          fmtMs(r.medianAgent.p50),
          fmtMs(r.callMs.p50),
          fmtMs(r.recordedMs.p99),
        ]),
      },
      {
        title: 'Control plane holding N agents',
        columns: [
          'agents',
          'connect all (s)',
          'RSS holding (MiB)',
          'RSS after changes (MiB)',
          'peak RSS (MiB)',
          'CPU idle holding (%)',
          'CPU during activations (%)',
          'CPU per change (ms)',
          '/healthz p99 / max during activations (ms)',
        ],
        rows: rows((r) => [
          `${fmt1(r.connectSeconds)}${r.connectRetries ? ` (${r.connectRetries} retried)` : ''}`,
          fmt1(r.holding.rssMiB),
          fmt1(r.rssMiBAfterChanges),
          fmt1(r.peakRssMiB),
          fmt1(r.holding.cores * 100),
          fmt1(r.changeCores * 100),
          fmtMs(r.cpuSecondsPerChange * 1000),
          `${fmtMs(r.health.p99)} / ${fmtMs(r.health.max)}`,
        ]),
      },
      {
        title: 'Reconnect storm: all dropped at once, back within 0.5-1.5 s',
        columns: [
          'agents',
          'all reconnected (ms)',
          'all on current revision (ms)',
          'median agent on revision (ms)',
          'recorded by CP (ms)',
          'connect attempts',
          'refusals / errors',
          'CP CPU (%)',
        ],
        rows: rows((r) => [
          fmtMs(r.storm.allConnectedMs),
          fmtMs(r.storm.allOnRevisionMs),
          fmtMs(r.storm.medianOnRevisionMs),
          fmtMs(r.storm.recordedMs),
          r.storm.attempts,
          Object.entries(r.storm.errors)
            .map(([e, c]) => `${c}× ${e}`)
            .join('; ') || 'none',
          fmt1(r.storm.cores * 100),
        ]),
      },
    ],
    ratios,
    metrics,
    charts: [
      {
        id: 'scale-last-ack-p99',
        title: 'Activation / rollback -> last agent acked, p99 by N',
        unit: 'ms',
        bars: results.flatMap((r) => [
          { label: `activate ${label(r.agents)}`, value: r.activate.p99 },
          { label: `rollback ${label(r.agents)}`, value: r.rollback.p99 },
        ]),
      },
      {
        id: 'scale-storm',
        title: 'Reconnect storm -> all on the current revision, by N',
        unit: 'ms',
        bars: results.map((r) => ({ label: label(r.agents), value: r.storm.allOnRevisionMs })),
      },
    ],
    notes,
  };
}

if (isMain(import.meta.url))
  await runStandalone('bench:scale', run, (quick) => (quick ? 240_000 : 420_000));
