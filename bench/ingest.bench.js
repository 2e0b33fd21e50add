#!/usr/bin/env node
// Decision-log ingest, against a real control plane (own database, Redis prefix and data dir,
// dropped at the end): simulated agents (socket.io-client, 2 processes) ship decision records
// (decisionRecordSchema) with the real `logs` event at a target rate for 60 s (quick: 15 s),
// one batch in flight per agent, as the agent does. Measured: records/s written to PostgreSQL
// over the window (the control plane's stepgate_decision_logs_ingested_total), the BullMQ
// decision-logs queue depth (getJobCounts under the control plane's Redis prefix) throughout,
// and, once drained, rows in decision_log == records the control plane acked (no loss).
// `node bench/ingest.bench.js [--quick] [--json]` after `npm run build`.
// Knobs: BENCH_INGEST_RATE=20000 (records/s offered)  BENCH_INGEST_AGENTS=200
//        BENCH_INGEST_SECONDS (window)
import { Queue } from 'bullmq';
import pg from 'pg';
import { startFleetBench } from './support/control-plane.js';
import { Cleanups, isMain, runStandalone } from './support/cleanups.js';
import { cpuMeter, machineMeter, now, percentile, sleep } from './support/processes.js';
import { SimFleet } from './support/sim-fleet.js';

/** docs/architecture.md, "Targets". */
const TARGET_RATE = 20_000;
/** apps/control-plane/src/decisions/decision-logs.queue.ts */
const QUEUE = 'decision-logs';
const ADMIN_DATABASE =
  process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

function config(quick) {
  return {
    rate: Number(process.env.BENCH_INGEST_RATE ?? TARGET_RATE),
    agents: Number(process.env.BENCH_INGEST_AGENTS ?? 200),
    processes: 2,
    /** The agent's shipping timer. */
    intervalMs: 1000,
    warmupMs: quick ? 3000 : 5000,
    windowMs: Number(process.env.BENCH_INGEST_SECONDS ?? (quick ? 15 : 60)) * 1000,
    /** After the window: how long the queue may take to drain before it is called not drained. */
    drainMs: quick ? 15_000 : 20_000,
  };
}

/** The control plane's counter of rows written (its /metrics). */
async function ingestedSoFar(cp) {
  const text = await (
    await fetch(`${cp.url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith('stepgate_decision_logs_ingested_total'));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

async function countRows(cp) {
  const url = new URL(ADMIN_DATABASE);
  url.pathname = `/${cp.databaseName}`;
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*)::bigint AS n FROM decision_log')).rows[0].n);
  } finally {
    await client.end();
  }
}

/** Samples queue depth and rows written every `intervalMs` until `stop()`. */
function sampler(cp, queue, intervalMs = 500) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = now();
      try {
        const [counts, ingested] = await Promise.all([
          queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
          ingestedSoFar(cp),
        ]);
        samples.push({
          t,
          // The retention schedule always keeps one delayed 'prune' job: not a backlog.
          depth:
            counts.waiting + counts.active + counts.prioritized + Math.max(0, counts.delayed - 1),
          failed: counts.failed,
          ingested,
        });
      } catch {
        // a missed sample; the next one counts
      }
      await sleep(intervalMs);
    }
  })();
  return {
    samples,
    latest: () => samples.at(-1),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The sample nearest to time `t`. */
const at = (samples, t) =>
  samples.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a), samples[0]);

/** Least-squares slope of depth over time, in jobs per second. */
function slope(samples) {
  if (samples.length < 2) return 0;
  const xs = samples.map((s) => s.t / 1000);
  const ys = samples.map((s) => s.depth);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick = false, log = (line) => console.error(line) } = {}) {
  const cfg = config(quick);
  const cleanups = new Cleanups();
  try {
    const { busy, cp, tokensFor } = await startFleetBench(cleanups, 'bench-ingest', log);
    const queue = new Queue(QUEUE, {
      connection: {
        host: REDIS_URL.hostname,
        port: Number(REDIS_URL.port || 6379),
        maxRetriesPerRequest: 1,
      },
      prefix: cp.redisPrefix,
    });
    cleanups.add(() => queue.close());

    const fleet = new SimFleet({
      url: cp.url,
      tokensFor,
      agents: cfg.agents,
      processes: cfg.processes,
      runId: 'ingest',
    });
    cleanups.add(() => fleet.close());
    await fleet.connect(60_000);
    log(
      `${cfg.agents} agents connected; shipping ${cfg.rate.toLocaleString('en-US')} records/s for ${(cfg.warmupMs + cfg.windowMs) / 1000} s`,
    );

    const watch = sampler(cp, queue);
    cleanups.add(() => watch.stop());
    const started = now();
    const cpuCp = cpuMeter(cp.pid);
    const cpuMachine = machineMeter();
    const shipping = fleet.shipLogs({
      agents: cfg.agents,
      rate: cfg.rate,
      intervalMs: cfg.intervalMs,
      durationMs: cfg.warmupMs + cfg.windowMs,
      drainMs: cfg.drainMs,
    });
    let lastLogged = started;
    const progress = setInterval(() => {
      const s = watch.latest();
      if (!s || s.t - lastLogged < 10_000) return;
      lastLogged = s.t;
      log(
        `+${((s.t - started) / 1000).toFixed(0)} s: ${s.ingested} rows written, queue ${s.depth}`,
      );
    }, 1000);
    const shipped = await shipping.finally(() => clearInterval(progress));
    const cpu = { cp: cpuCp().cores, machine: cpuMachine() };
    const windowStart = started + cfg.warmupMs;
    const windowEnd = windowStart + cfg.windowMs;

    // Drain: every acked record written (or the deadline).
    const drainStarted = now();
    let drained = false;
    while (now() - drainStarted < cfg.drainMs) {
      const s = watch.latest();
      if (s && s.t > drainStarted && s.depth === 0 && s.ingested >= shipped.acked) {
        drained = true;
        break;
      }
      await sleep(250);
    }
    const drainMs = now() - drainStarted;
    await watch.stop();
    const rows = await countRows(cp);
    const finalCounts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'failed',
    );

    const samples = watch.samples;
    const inWindow = samples.filter((s) => s.t >= windowStart && s.t <= windowEnd);
    const first = at(samples, windowStart);
    const last = at(samples, windowEnd);
    const rate = (last.ingested - first.ingested) / ((last.t - first.t) / 1000);
    const perSecond = [];
    for (let i = 1; i < inWindow.length; i++)
      perSecond.push(
        (inWindow[i].ingested - inWindow[i - 1].ingested) /
          ((inWindow[i].t - inWindow[i - 1].t) / 1000),
      );
    const maxDepth = Math.max(0, ...samples.map((s) => s.depth));
    const windowDepth = Math.max(0, ...inWindow.map((s) => s.depth));
    const growth = slope(inWindow);
    // Bounded: over the window the queue grew by less than one batch per agent (each agent
    // has at most one batch in flight, so a queue keeping up never holds more than that).
    const bounded = growth * (cfg.windowMs / 1000) < cfg.agents;
    const lost = shipped.acked - rows;
    log(
      `${Math.round(rate)} records/s written; queue max ${maxDepth}, end of window ${last.depth}; ${rows} rows for ${shipped.acked} acked`,
    );

    return section({
      cfg,
      quick,
      busy,
      rate,
      perSecond,
      shipped,
      rows,
      lost,
      drained,
      drainMs,
      maxDepth,
      windowDepth,
      endDepth: last.depth,
      finalCounts,
      growth,
      bounded,
      cpu,
    });
  } finally {
    await cleanups.run();
  }
}

const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** @returns {import('./report/section.js').BenchSection} */
function section(r) {
  const { cfg } = r;
  const avgBatch = r.shipped.ackedBatches ? r.shipped.acked / r.shipped.ackedBatches : NaN;
  const ackP99 = Math.max(...r.shipped.perProcess.map((p) => p.ackMs.p99));
  const notes = [
    `${cfg.agents} simulated agents in ${cfg.processes} processes, each accruing ${int(cfg.rate / cfg.agents)} records/s and shipping every ${cfg.intervalMs} ms with the real \`logs\` event, one batch in flight (the agent's way: acked once queued, re-sent when not acked); records are decisionRecordSchema-valid (checked), ~5 % step_up, with a small masked input.`,
    `Rate = rows written (the control plane's stepgate_decision_logs_ingested_total) over the ${cfg.windowMs / 1000} s window after ${cfg.warmupMs / 1000} s warm-up. Queue depth = BullMQ waiting + active + prioritized + delayed (retrying) jobs of the decision-logs queue, one job per batch, less the retention schedule's delayed job; sampled every 0.5 s.`,
    `Bounded: the queue grew by less than one batch per agent over the window (least-squares slope ${r.growth.toFixed(2)} jobs/s).`,
    `Target >= ${TARGET_RATE.toLocaleString('en-US')} records/s into PostgreSQL: ${int(r.rate)} — ${r.rate >= TARGET_RATE ? 'met' : 'NOT met'}.`,
  ];
  if (r.busy > 0.1)
    notes.push(
      `The machine was ${(r.busy * 100).toFixed(0)} % busy with other processes before the run: figures are pessimistic.`,
    );
  if (!r.drained)
    notes.push(
      `The queue had not drained ${(r.drainMs / 1000).toFixed(0)} s after the last batch: rows < acked counts what was still queued, not necessarily a loss.`,
    );
  if (r.quick) notes.push('Quick mode: a 15 s window.');
  return {
    id: 'ingest',
    title: 'Decision-log ingest: agents -> control plane -> BullMQ -> PostgreSQL',
    tables: [
      {
        title: `Sustained ingest over ${cfg.windowMs / 1000} s (${int(cfg.rate)} records/s offered)`,
        columns: ['measure', 'value'],
        rows: [
          ['records/s written to PostgreSQL (window mean)', int(r.rate)],
          [
            'records/s per 0.5 s sample: p10 / p50 / p90',
            `${int(percentile(r.perSecond, 0.1))} / ${int(percentile(r.perSecond, 0.5))} / ${int(percentile(r.perSecond, 0.9))}`,
          ],
          [
            'records shipped / acked (queued) by the control plane',
            `${int(r.shipped.records)} / ${int(r.shipped.acked)}`,
          ],
          [
            'batches sent / re-sent / not ok / timed out',
            `${int(r.shipped.batches)} / ${int(r.shipped.resent)} / ${int(r.shipped.notOk)} / ${int(r.shipped.timeouts)}`,
          ],
          ['records per batch (mean)', int(avgBatch)],
          ['batch ack p99 (ms)', int(ackP99)],
          [
            'queue depth max / max in window / end of window (batches)',
            `${int(r.maxDepth)} / ${int(r.windowDepth)} / ${int(r.endDepth)}`,
          ],
          ['queue depth bounded', r.bounded ? 'yes' : 'no'],
          [
            'CPU while shipping: control plane / whole machine (cores)',
            `${r.cpu.cp.toFixed(2)} / ${r.cpu.machine.toFixed(2)}`,
          ],
          ['failed jobs at the end', int(r.finalCounts.failed)],
          [
            'drained after the last batch (s)',
            r.drained ? (r.drainMs / 1000).toFixed(1) : `no (${(r.drainMs / 1000).toFixed(0)} s)`,
          ],
          [
            'rows in decision_log / records acked (lost)',
            `${int(r.rows)} / ${int(r.shipped.acked)} (${int(r.lost)})`,
          ],
        ],
      },
    ],
    ratios: {
      ingest_vs_target: {
        value: r.rate / TARGET_RATE,
        better: 'higher',
        description: `records/s written to PostgreSQL / ${TARGET_RATE.toLocaleString('en-US')} (DESIGN target)`,
      },
      ingest_vs_offered: {
        value: r.rate / cfg.rate,
        better: 'higher',
        description: 'records/s written / records/s the simulated agents offered',
      },
    },
    metrics: {
      records_per_second: r.rate,
      offered_per_second: cfg.rate,
      queue_depth_max: r.maxDepth,
      queue_depth_end_of_window: r.endDepth,
      queue_growth_jobs_per_second: r.growth,
      records_acked: r.shipped.acked,
      rows_written: r.rows,
      records_lost: r.lost,
      failed_jobs: r.finalCounts.failed,
      batch_ack_p99_ms: ackP99,
      cp_cpu_cores: r.cpu.cp,
    },
    charts: [
      {
        id: 'ingest-rate',
        title: 'Decision-log ingest, records/s',
        unit: 'records/s',
        bars: [
          { label: 'written', value: r.rate },
          { label: 'target', value: TARGET_RATE },
        ],
      },
    ],
    notes,
  };
}

if (isMain(import.meta.url))
  await runStandalone('bench:ingest', run, (quick) => (quick ? 90_000 : 150_000));
