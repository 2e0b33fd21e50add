#!/usr/bin/env node
// The web console (issue 15, "Measure"):
//  1. bundle: what a first visit loads (apps/console/dist/index.html and the JS and CSS it
//     references), raw and gzipped (node:zlib, level 6 as a web server would); target < 300 KiB
//     gzipped.
//  2. overview time to interactive: a real control plane (own database, Redis prefix, data dir;
//     dropped at the end) serving the built console, decision_log seeded in PostgreSQL with N
//     decisions (1,000,000; quick 100,000) over the last 24 h (one INSERT ... SELECT
//     generate_series per chunk, VACUUM ANALYZE), then /console/overview opened in headless
//     Chromium (Debian's, playwright-core) with a cold cache and a signed-in session, timed from
//     navigation start to the page's data-ready="true" (every query answered, counts, tables
//     and both charts drawn), recorded in the page by a MutationObserver; median of 5 loads
//     (quick 3) after one warm-up load; target < 1.5 s.
//  3. the API behind the overview at N rows: GET /v1/decisions/stats and /timeline for each
//     window of the page (median of 3), and EXPLAIN (ANALYZE, BUFFERS) of the queries behind
//     the 24 h window, kept in the report.
// Part of `npm run bench` (bench/run.js); alone: `node bench/console.bench.js [--quick] [--json]`
// or `node bench/run.js --only console`, after `npm run build`.
// Knob: BENCH_CONSOLE_DECISIONS=1000000
/* global document, MutationObserver, sessionStorage, window -- pageSetup and the waits run in the page */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { REPO_ROOT, api, startFleetBench } from './support/control-plane.js';
import { Cleanups, isMain, runStandalone } from './support/cleanups.js';
import { median, now } from './support/processes.js';

/** Issue 15, "Measure". */
const TARGET_GZIP_KIB = 300;
const TARGET_TTI_MS = 1500;
const HOUR = 3600_000;
const DIST = join(REPO_ROOT, 'apps/console/dist');
const CHROMIUM =
  process.env.STEPGATE_CHROMIUM ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path)) ??
  '/usr/bin/chromium';
/** The overview's windows and buckets (apps/console/src/components/overview/windows.ts). */
const WINDOWS = [
  { key: '15m', seconds: 900, bucket: 30 },
  { key: '1h', seconds: 3600, bucket: 60 },
  { key: '24h', seconds: 86_400, bucket: 600 },
  { key: '7d', seconds: 7 * 86_400, bucket: 3600 },
];

function config(quick) {
  return {
    decisions: Number(process.env.BENCH_CONSOLE_DECISIONS ?? (quick ? 100_000 : 1_000_000)),
    loads: quick ? 3 : 5,
    apiRounds: quick ? 1 : 3,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Bundle

/**
 * A copy of the built console, served by the bench's control plane (STEPGATE_CONSOLE_DIR): a
 * suite rebuilding apps/console/dist meanwhile cannot change what is measured. A development
 * build (React's, e.g. one built under NODE_ENV=test) is refused: it is larger and slower.
 */
function snapshotConsole(cleanups) {
  if (!existsSync(join(DIST, 'index.html')))
    throw new Error(`${DIST}/index.html does not exist: npm run build -w @stepgate/console`);
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-console-'));
  cleanups.add(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(DIST, dir, { recursive: true });
  return dir;
}

/** index.html and every script, stylesheet and preload it references under /console/. */
function bundleSize(dist) {
  const html = readFileSync(join(dist, 'index.html'));
  const assets = [
    ...html.toString().matchAll(/(?:src|href)="\/console\/([^"]+\.(?:js|css|mjs))"/g),
  ].map((m) => m[1]);
  if (!assets.some((a) => a.endsWith('.js')))
    throw new Error(`${dist}/index.html references no script: build the console first`);
  const files = [{ name: 'index.html', bytes: html }].concat(
    assets.map((name) => ({ name, bytes: readFileSync(join(dist, name)) })),
  );
  if (files.some((f) => f.bytes.includes('Download the React DevTools')))
    throw new Error(
      `${DIST} holds a development build of React (built with NODE_ENV set to other than production?): NODE_ENV=production npm run build -w @stepgate/console`,
    );
  const rows = files.map((f) => ({
    name: f.name,
    raw: f.bytes.length,
    gzip: gzipSync(f.bytes, { level: 6 }).length,
  }));
  return {
    files: rows,
    raw: rows.reduce((s, f) => s + f.raw, 0),
    gzip: rows.reduce((s, f) => s + f.gzip, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Seed

/**
 * Rows g = 1..count over [from, to): 85 % allowed (5,000 principals, one allow rule), 10 % denied
 * by one of 10 deny rules (300 principals), 5 % stepped up by one of 5 step-up rules (200
 * principals), across 40 agents.
 */
const SEED_SQL = `
INSERT INTO decision_log (id, at, agent_id, revision, effect, principal, action, resource_kind,
  resource_id, require, reasons, errors, duration_ns)
SELECT 'bench-console-' || s.g, s.at, 'agent-' || (s.g % 40), 1, s.effect::decision_effect,
  s.principal, s.action, 'http', '/api/projects/' || (s.g % 1000),
  CASE WHEN s.effect = 'step_up' THEN '{"level": "mfa"}'::jsonb END,
  CASE s.effect
    WHEN 'allow' THEN '[{"policy": "api-access", "rule": "staff", "effect": "allow"}]'::jsonb
    WHEN 'deny' THEN jsonb_build_array(jsonb_build_object('policy', 'api-guard',
      'rule', 'deny-' || (s.g % 10), 'effect', 'deny'))
    ELSE jsonb_build_array(jsonb_build_object('policy', 'admin-step-up',
      'rule', 'mfa-' || (s.g % 5), 'effect', 'step_up')) END,
  0, 40000 + (s.g % 9000)
FROM (
  SELECT g,
    $1::timestamptz + (($2::timestamptz - $1::timestamptz) * (g - 1) / $3::int) AS at,
    CASE WHEN g % 100 < 85 THEN 'allow' WHEN g % 100 < 95 THEN 'deny' ELSE 'step_up' END AS effect,
    CASE WHEN g % 100 < 85 THEN 'user-' || (g % 5000)
         WHEN g % 100 < 95 THEN 'user-' || ((g * 7) % 300)
         ELSE 'admin-' || ((g * 13) % 200) END AS principal,
    CASE WHEN g % 100 < 95 THEN 'http:GET' ELSE 'http:POST' END AS action
  FROM generate_series($4::int, $5::int) AS g
) AS s`;

async function seed(client, from, to, count, chunk = 250_000) {
  for (let start = 1; start <= count; start += chunk) {
    const end = Math.min(count, start + chunk - 1);
    await client.query(SEED_SQL, [from.toISOString(), to.toISOString(), count, start, end]);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Overview loads in Chromium

/**
 * Runs in the page before any of its scripts (through DevTools, not governed by the page's CSP):
 * the signed-in credential, and a MutationObserver that notes performance.now() (ms since
 * navigation start) when the overview turns data-ready, with the charts drawn then.
 */
function pageSetup({ token }) {
  sessionStorage.setItem('stepgate.console.credential', JSON.stringify({ token, kind: 'token' }));
  const observer = new MutationObserver(() => {
    const ready = document.querySelector('section[data-ready="true"]');
    if (!ready) return;
    window.__overviewReady = {
      ms: performance.now(),
      charts: ready.querySelectorAll('.time-chart canvas').length,
      total: ready.querySelector('dd[data-effect="total"]')?.textContent ?? null,
      // Where the time went: when the page sent its first API call and got its last answer.
      api: performance
        .getEntriesByType('resource')
        .filter((entry) => entry.name.includes('/v1/'))
        .map((entry) => ({ start: entry.startTime, end: entry.responseEnd })),
    };
    observer.disconnect();
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
}

async function loadOverview(browser, url, token, search = '') {
  // A new context per load: a cold HTTP cache and a new session, as a first visit.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.addInitScript(pageSetup, { token });
    await page.goto(`${url}/console/overview${search}`);
    const handle = await page.waitForFunction(() => window.__overviewReady, null, {
      timeout: 60_000,
      polling: 50,
    });
    const ready = await handle.jsonValue();
    const nav = await page.evaluate(() => {
      const entry = performance.getEntriesByType('navigation')[0];
      return { dcl: entry.domContentLoadedEventEnd, load: entry.loadEventEnd };
    });
    if (errors.length) throw new Error(`the overview raised: ${errors.join('; ')}`);
    if (ready.charts < 2) throw new Error(`data-ready with ${ready.charts} chart(s) drawn`);
    const firstCall = Math.min(...ready.api.map((call) => call.start));
    const lastAnswer = Math.max(...ready.api.map((call) => call.end));
    return {
      ms: ready.ms,
      charts: ready.charts,
      total: ready.total,
      firstCall,
      lastAnswer,
      ...nav,
    };
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. The API and its queries

async function timeApi(cp, path, rounds) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const started = now();
    await api(cp, 'GET', path);
    times.push(now() - started);
  }
  return median(times);
}

function windowQuery({ seconds, bucket }) {
  const to = Date.now();
  const size = bucket * 1000;
  const from = Math.floor((to - seconds * 1000) / size) * size;
  return {
    range: `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
    bucket,
  };
}

/**
 * The SQL behind GET /v1/decisions/stats and /timeline for a window, from the control plane's
 * build (decision-stats-queries.ts, decision-timeline.ts): the roll-ups' whole minutes and hours
 * plus decision_log at the window's edges.
 */
async function explainedQueries(from, to) {
  const dist = (path) => import(join(REPO_ROOT, 'apps/control-plane/dist/decisions', path));
  const stats = await dist('decision-stats-queries.js');
  const { timelinePlan, timelineQuery } = await dist('decision-timeline.js');
  return [
    { name: 'stats: by effect and fail reason', sql: stats.effectCountsQuery(from, to) },
    { name: 'stats: top denied principals', sql: stats.topPrincipalsQuery(from, to, 'deny') },
    { name: 'stats: top deny rules', sql: stats.topRulesQuery(from, to, 'deny') },
    {
      name: 'timeline: 600 s buckets',
      sql: timelineQuery(
        timelinePlan({ from: from.toISOString(), to: to.toISOString(), bucket: 600 }),
      ),
    },
  ];
}

async function explain(client, from, to) {
  const plans = [];
  for (const query of await explainedQueries(from, to)) {
    const { rows } = await client.query(
      `EXPLAIN (ANALYZE, BUFFERS) ${query.sql.text}`,
      query.sql.values,
    );
    const lines = rows.map((row) => row['QUERY PLAN']);
    const time = lines.find((line) => line.startsWith('Execution Time'));
    plans.push({ name: query.name, lines, ms: Number(/([\d.]+) ms/.exec(time ?? '')?.[1] ?? NaN) });
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick = false, log = (line) => console.error(line) } = {}) {
  const cfg = config(quick);
  const cleanups = new Cleanups();
  try {
    const dist = snapshotConsole(cleanups);
    const bundle = bundleSize(dist);
    log(
      `console initial load: ${(bundle.raw / 1024).toFixed(1)} KiB raw, ${(bundle.gzip / 1024).toFixed(1)} KiB gzipped`,
    );
    // Inherited by the control plane (this part runs in its own process).
    process.env.STEPGATE_CONSOLE_DIR = dist;
    const { busy, cp } = await startFleetBench(cleanups, 'bench-console', log);
    const client = new pg.Client({ connectionString: cp.databaseUrl });
    await client.connect();
    cleanups.add(() => client.end());

    const to = new Date();
    const from = new Date(to.getTime() - 24 * HOUR);
    const seedStarted = now();
    await seed(client, from, to, cfg.decisions);
    // The roll-ups too, as autovacuum would have by the time anyone looks.
    await client.query(
      'VACUUM ANALYZE decision_log, decision_minute, decision_hour_rule, decision_hour_principal',
    );
    const seedSeconds = (now() - seedStarted) / 1000;
    const bytes = Number(
      (await client.query(`SELECT pg_total_relation_size('decision_log') AS b`)).rows[0].b,
    );
    log(
      `seeded ${cfg.decisions.toLocaleString('en-US')} decisions in ${seedSeconds.toFixed(1)} s (decision_log ${(bytes / 2 ** 20).toFixed(0)} MiB)`,
    );

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    cleanups.add(() => browser.close());
    // The first load after start warms the control plane and PostgreSQL's cache: not counted.
    const warmUp = await loadOverview(browser, cp.url, cp.adminToken);
    const loads = [];
    for (let i = 0; i < cfg.loads; i++)
      loads.push(await loadOverview(browser, cp.url, cp.adminToken));
    const tti = median(loads.map((l) => l.ms));
    log(
      `overview data-ready: ${loads.map((l) => l.ms.toFixed(0)).join(', ')} ms (median ${tti.toFixed(0)}; warm-up ${warmUp.ms.toFixed(0)}); total shown ${loads[0].total}`,
    );
    // The same with the 24 h window (every stored decision): the heaviest the page asks for.
    const dayLoads = [];
    for (let i = 0; i < cfg.loads; i++)
      dayLoads.push(await loadOverview(browser, cp.url, cp.adminToken, '?window=24h'));
    const dayTti = median(dayLoads.map((l) => l.ms));
    log(
      `overview ?window=24h data-ready: ${dayLoads.map((l) => l.ms.toFixed(0)).join(', ')} ms (median ${dayTti.toFixed(0)}); total shown ${dayLoads[0].total}`,
    );

    const apiTimes = [];
    for (const window of WINDOWS) {
      const q = windowQuery(window);
      const stats = await timeApi(cp, `/v1/decisions/stats?${q.range}`, cfg.apiRounds);
      const timeline = await timeApi(
        cp,
        `/v1/decisions/timeline?${q.range}&bucket=${q.bucket}`,
        cfg.apiRounds,
      );
      apiTimes.push({ window: window.key, stats, timeline });
      log(`${window.key}: stats ${stats.toFixed(0)} ms, timeline ${timeline.toFixed(0)} ms`);
    }
    const others = {
      versions: await timeApi(cp, '/v1/versions?limit=50', cfg.apiRounds),
      fleet: await timeApi(cp, '/v1/fleet', cfg.apiRounds),
    };
    log(`versions ${others.versions.toFixed(0)} ms, fleet ${others.fleet.toFixed(0)} ms`);
    // The overview's 24 h window: from on a 10-minute boundary, to now.
    const day = windowQuery(WINDOWS.find((w) => w.key === '24h'));
    const [, dayFrom, dayTo] = /from=(.*)&to=(.*)/.exec(day.range);
    const plans = await explain(client, new Date(dayFrom), new Date(dayTo));
    for (const plan of plans) log(`EXPLAIN ${plan.name}: ${plan.ms.toFixed(0)} ms`);
    return section({
      cfg,
      quick,
      busy,
      bundle,
      seedSeconds,
      bytes,
      warmUp,
      loads,
      tti,
      dayLoads,
      dayTti,
      apiTimes,
      others,
      plans,
    });
  } finally {
    await cleanups.run();
  }
}

const kib = (bytes) => (bytes / 1024).toFixed(1);
const ms = (value) => value.toFixed(0);
/** Plan lines as table cells, leading spaces kept as no-break spaces (the report escapes pipes). */
const planRows = (lines) =>
  lines.map((line) => [line.replace(/^ +/, (s) => '\u00a0'.repeat(s.length))]);

/** @returns {import('./report/section.js').BenchSection} */
function section(r) {
  const { cfg } = r;
  const decisions = cfg.decisions.toLocaleString('en-US');
  const stats24 = r.apiTimes.find((t) => t.window === '24h');
  const notes = [
    `Bundle: index.html plus the JS and CSS it references (apps/console/dist, as \`npm run build\` leaves it), gzip level 6 (node:zlib). Target < ${TARGET_GZIP_KIB} KiB gzipped: ${kib(r.bundle.gzip)} KiB — ${r.bundle.gzip / 1024 < TARGET_GZIP_KIB ? 'met' : 'NOT met'}.`,
    `Time to interactive: navigation start -> the overview's section data-ready="true" (versions, fleet, stats and timeline answered; counts, top lists and both uPlot charts drawn), seen by a MutationObserver in the page; each load in a new browser context (cold HTTP cache), signed in with the admin token in session storage; headless Debian Chromium; default window (last hour, ~${Math.round(cfg.decisions / 24).toLocaleString('en-US')} decisions of the ${decisions}). Median of ${cfg.loads} loads after one warm-up load (${ms(r.warmUp.ms)} ms). Target < ${TARGET_TTI_MS} ms: ${ms(r.tti)} ms — ${r.tti < TARGET_TTI_MS ? 'met' : 'NOT met'}. With ?window=24h (all ${decisions} decisions counted, grouped and charted; from the roll-ups but for the window's partial minutes and hours): ${ms(r.dayTti)} ms — ${r.dayTti < TARGET_TTI_MS ? 'within' : 'over'} the target.`,
    `decision_log seeded in PostgreSQL (INSERT ... SELECT generate_series, its roll-ups kept by the triggers as for any insert, then VACUUM ANALYZE: ${r.seedSeconds.toFixed(0)} s, ${(r.bytes / 2 ** 20).toFixed(0)} MiB with indexes): ${decisions} decisions spread evenly over the last 24 h, 85 % allowed, 10 % denied by 10 deny rules, 5 % stepped up by 5 step-up rules, 5,500 principals, 40 agents.`,
    `EXPLAIN (ANALYZE, BUFFERS) of the SQL behind the overview's 24 h window (the stats route runs the by-effect-and-fail-reason, two top-principal and two top-rule queries at once, the timeline one query; each adds a roll-up's whole minutes or hours, decision_minute or decision_hour_*, kept by triggers on decision_log, to decision_log's rows at the window's edges), each run once after the API timings (warm cache).`,
  ];
  if (r.busy > 0.1)
    notes.push(
      `The machine was ${(r.busy * 100).toFixed(0)} % busy with other processes before the run: figures are pessimistic.`,
    );
  if (r.quick) notes.push(`Quick mode: ${decisions} decisions, ${cfg.loads} loads.`);
  return {
    id: 'console',
    title: 'Console: bundle size and the overview at scale',
    tables: [
      {
        title: 'Initial load of the console',
        columns: ['file', 'raw (KiB)', 'gzipped (KiB)'],
        rows: [
          ...r.bundle.files.map((f) => [f.name, kib(f.raw), kib(f.gzip)]),
          ['total', kib(r.bundle.raw), kib(r.bundle.gzip)],
        ],
      },
      {
        title: `Overview time to interactive with ${decisions} decisions stored (ms from navigation start)`,
        columns: [
          'load',
          'last hour (default): data ready',
          'DOMContentLoaded',
          'first API call sent',
          'last API answer',
          '?window=24h: data ready',
          '?window=24h: last API answer',
        ],
        rows: [
          [
            'warm-up (not counted)',
            ms(r.warmUp.ms),
            ms(r.warmUp.dcl),
            ms(r.warmUp.firstCall),
            ms(r.warmUp.lastAnswer),
            '',
            '',
          ],
          ...r.loads.map((l, i) => [
            String(i + 1),
            ms(l.ms),
            ms(l.dcl),
            ms(l.firstCall),
            ms(l.lastAnswer),
            ms(r.dayLoads[i]?.ms ?? NaN),
            ms(r.dayLoads[i]?.lastAnswer ?? NaN),
          ]),
          [
            'median',
            ms(r.tti),
            ms(median(r.loads.map((l) => l.dcl))),
            ms(median(r.loads.map((l) => l.firstCall))),
            ms(median(r.loads.map((l) => l.lastAnswer))),
            ms(r.dayTti),
            ms(median(r.dayLoads.map((l) => l.lastAnswer))),
          ],
        ],
      },
      {
        title: `The overview's API at ${decisions} decisions (median of ${cfg.apiRounds}, ms)`,
        columns: ['window', 'GET /v1/decisions/stats', 'GET /v1/decisions/timeline'],
        rows: r.apiTimes.map((t) => [t.window, ms(t.stats), ms(t.timeline)]),
      },
      {
        title: `The overview's other calls (median of ${cfg.apiRounds}, ms)`,
        columns: ['GET /v1/versions?limit=50', 'GET /v1/fleet'],
        rows: [[ms(r.others.versions), ms(r.others.fleet)]],
      },
      {
        title: 'EXPLAIN ANALYZE over the last 24 h: execution time',
        columns: ['query', 'execution (ms)'],
        rows: r.plans.map((p) => [p.name, p.ms.toFixed(1)]),
      },
      ...r.plans.map((p) => ({
        title: `EXPLAIN (ANALYZE, BUFFERS) ${p.name}`,
        columns: ['plan'],
        rows: planRows(p.lines),
      })),
    ],
    ratios: {
      bundle_vs_target: {
        value: r.bundle.gzip / 1024 / TARGET_GZIP_KIB,
        better: 'lower',
        description: `gzipped initial load (KiB) / ${TARGET_GZIP_KIB} (issue 15 target)`,
      },
      tti_vs_target: {
        value: r.tti / TARGET_TTI_MS,
        better: 'lower',
        checked: false,
        description: `overview data-ready median (ms) / ${TARGET_TTI_MS} (issue 15 target); not checked: a browser load on the shared 2-core machine swings by more than 30 % with its load`,
      },
    },
    metrics: {
      bundle_raw_bytes: r.bundle.raw,
      bundle_gzip_bytes: r.bundle.gzip,
      overview_tti_ms: r.tti,
      overview_warmup_ms: r.warmUp.ms,
      overview_24h_tti_ms: r.dayTti,
      stats_24h_ms: stats24?.stats ?? NaN,
      timeline_24h_ms: stats24?.timeline ?? NaN,
      decisions: cfg.decisions,
      seed_seconds: r.seedSeconds,
    },
    charts: [
      {
        id: 'console-overview-tti',
        title: 'Overview time to interactive',
        unit: 'ms',
        bars: [
          { label: 'last hour (default)', value: r.tti },
          { label: 'last 24 h', value: r.dayTti },
          { label: 'target', value: TARGET_TTI_MS },
        ],
      },
    ],
    notes,
  };
}

if (isMain(import.meta.url))
  await runStandalone('bench:console', run, (quick) => (quick ? 180_000 : 420_000));
