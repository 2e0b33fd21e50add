#!/usr/bin/env node
// Replay (issue 14) against a real control plane (own database, Redis prefix and data dir,
// dropped at the end), seeded at start-up with the example policies/ (version 1, active):
//  1. decision_log is seeded straight in PostgreSQL (one INSERT ... SELECT generate_series; the
//     bench measures replay, not ingest) with replayable records shaped like the agents' for the
//     example policies: staff / contractors / API admins / secret readers / guests, http:* and
//     secrets:read, recorded effects and reasons, masked input, the `replay` part (version 1,
//     evidence). N records (1,000,000; quick 50,000) 2-9 days old, and a 24 h window of 200,000
//     (quick 20,000) in the last 24 h; VACUUM ANALYZE.
//  2. push-impact: a candidate (the examples plus api-contractor-freeze, which denies http:* to
//     the contractors group: ~5 % of the records change allow -> deny) is pushed with the real
//     git CLI; the sync replays every new ready version over the last 24 h. Measured: push start
//     -> the version's replay done (GET /v1/versions/{sha} replay.status), and whether the
//     `git push` output itself printed the impact (it waits up to 20 s for it).
//  3. replay: POST /v1/versions/{candidate}/replay over the N-record window -> GET
//     /v1/replays/{id} done: records/s end to end (read, decide, diff), and the control plane's
//     RSS sampled every 100 ms from /proc/<pid>/status (VmRSS; VmHWM at the end).
// Part of `npm run bench` (bench/run.js); alone: `node bench/replay.bench.js [--quick] [--json]`
// or `node bench/run.js --only replay`, after `npx tsc -b tsconfig.build.json`.
// Knobs: BENCH_REPLAY_RECORDS=1000000  BENCH_REPLAY_WINDOW_RECORDS=200000
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { api, cloneEmbedded, embeddedRepoUrl, startFleetBench } from './support/control-plane.js';
import { Cleanups, isMain, runStandalone } from './support/cleanups.js';
import {
  cpuMeter,
  machineMeter,
  memoryOf,
  now,
  spawnTracked,
  waitFor,
} from './support/processes.js';

/** Issue 14, "Measure". */
const TARGET_RATE = 50_000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

function config(quick) {
  return {
    records: Number(process.env.BENCH_REPLAY_RECORDS ?? (quick ? 50_000 : 1_000_000)),
    windowRecords: Number(process.env.BENCH_REPLAY_WINDOW_RECORDS ?? (quick ? 20_000 : 200_000)),
    replayTimeoutMs: quick ? 60_000 : 240_000,
  };
}

/**
 * Rows g = 1..count, `at` spread evenly over [from, to). Twenty shapes by g % 20 (the recorded
 * effect and reasons are what the example policies decide for them):
 *  0-10 staff GET /api/projects/<n> from the office (allow, api-access/staff-outside-admin);
 *    every 4th of them has a masked principal.email (no rule reads it: still replayable)
 *  11   staff + contractors, same request (allow; the candidate denies it)
 *  12-13 api-admin POST /admin/users from the office, MFA 5 min old (allow, api-access/api-admins;
 *        the admin step-up rules, outside working hours, are met)
 *  14-15 secrets:read of the principal's team's secret with MFA 5 min old (allow, owning-team)
 *  16   the same with a password only (step_up mfa/15m, secrets-read/fresh-mfa)
 *  17-19 guests GET /api/... (deny, no rule: the default)
 */
export const SEED_SQL = `
INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
  resource_kind, resource_id, require, reasons, data_revision, signals, input, errors,
  duration_ns, replay)
SELECT 'bench-' || $4 || '-' || s.g, s.at, 'agent-' || (s.g % 40), 1, s.effect::decision_effect,
  NULL, s.principal, s.action, s.kind, s.rid, s.require, s.reasons, NULL,
  '{"failed_logins": 0, "new_device": false}'::jsonb,
  jsonb_build_object(
    'principal', jsonb_build_object('id', s.principal, 'groups', s.groups, 'roles', s.roles),
    'action', s.action,
    'resource', CASE WHEN s.kind = 'secret'
      THEN jsonb_build_object('kind', s.kind, 'id', s.rid,
             'attributes', jsonb_build_object('classification', 'internal'))
      ELSE jsonb_build_object('kind', s.kind, 'id', s.rid) END,
    'context', jsonb_build_object('ip', '192.0.2.' || (10 + s.g % 200),
      'geo', jsonb_build_object('country', 'DE', 'asn', 3320))),
  0, 40000 + (s.g % 9000),
  jsonb_build_object('version', 1,
    'evidence', jsonb_build_object('level', s.level,
      'authTime', to_char((s.at - interval '5 minutes') AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
    || CASE WHEN s.shape <= 10 AND s.g % 4 = 0
         THEN '{"masked": ["principal.email"]}'::jsonb ELSE '{}'::jsonb END
FROM (
  SELECT g, g % 20 AS shape,
    $1::timestamptz + (($2::timestamptz - $1::timestamptz) * (g - 1) / $3::int) AS at,
    CASE WHEN g % 20 <= 11 THEN 'user-' || (g % 5000)
         WHEN g % 20 <= 13 THEN 'admin-' || (g % 50)
         WHEN g % 20 <= 16 THEN 'dev-' || (g % 800)
         ELSE 'guest-' || (g % 300) END AS principal,
    CASE WHEN g % 20 <= 11 THEN 'http:GET' WHEN g % 20 <= 13 THEN 'http:POST'
         WHEN g % 20 <= 16 THEN 'secrets:read' ELSE 'http:GET' END AS action,
    CASE WHEN g % 20 BETWEEN 14 AND 16 THEN 'secret' ELSE 'http' END AS kind,
    CASE WHEN g % 20 <= 11 OR g % 20 >= 17 THEN '/api/projects/' || (g % 1000)
         WHEN g % 20 <= 13 THEN '/admin/users'
         ELSE 'team-' || (g % 8) || '/db/password-' || (g % 100) END AS rid,
    CASE WHEN g % 20 = 11 THEN '["staff", "contractors"]'::jsonb
         WHEN g % 20 <= 13 THEN '["staff"]'::jsonb
         WHEN g % 20 <= 16 THEN jsonb_build_array('staff', 'team-' || (g % 8))
         ELSE '["guests"]'::jsonb END AS groups,
    CASE WHEN g % 20 BETWEEN 12 AND 13 THEN '["api-admin"]'::jsonb ELSE '[]'::jsonb END AS roles,
    CASE WHEN g % 20 BETWEEN 12 AND 15 THEN 'mfa' ELSE 'pwd' END AS level,
    CASE WHEN g % 20 = 16 THEN 'step_up' WHEN g % 20 >= 17 THEN 'deny' ELSE 'allow' END AS effect,
    CASE WHEN g % 20 = 16 THEN '{"level": "mfa", "maxAge": 900}'::jsonb END AS require,
    CASE WHEN g % 20 <= 11
           THEN '[{"policy": "api-access", "rule": "staff-outside-admin", "effect": "allow"}]'::jsonb
         WHEN g % 20 <= 13
           THEN '[{"policy": "api-access", "rule": "api-admins", "effect": "allow"}]'::jsonb
         WHEN g % 20 <= 15
           THEN '[{"policy": "secrets-read", "rule": "owning-team", "effect": "allow"}]'::jsonb
         WHEN g % 20 = 16
           THEN '[{"policy": "secrets-read", "rule": "fresh-mfa", "effect": "step_up"}]'::jsonb
         ELSE '[]'::jsonb END AS reasons
  FROM generate_series($5::int, $6::int) AS g
) AS s`;

/** Seeds `count` rows over [from, to) in chunks (one statement per chunk). */
async function seed(client, tag, from, to, count, chunk = 250_000) {
  for (let start = 1; start <= count; start += chunk) {
    const end = Math.min(count, start + chunk - 1);
    await client.query(SEED_SQL, [from.toISOString(), to.toISOString(), count, tag, start, end]);
  }
}

/** The candidate: the examples plus a policy denying the API to contractors, with its test. */
export const CANDIDATE_FILES = {
  'api/contractor-freeze.yaml': [
    'apiVersion: stepgate/v1',
    'kind: Policy',
    'name: api-contractor-freeze',
    'description: Contractors lose API access during the audit (bench candidate).',
    'target:',
    '  actions: ["http:*"]',
    'rules:',
    '  - name: contractors',
    '    effect: deny',
    '    when: \'"contractors" in principal.groups\'',
    '',
  ].join('\n'),
  'api/contractor-freeze.test.yaml': [
    'apiVersion: stepgate/v1',
    'kind: TestSuite',
    'name: contractor freeze',
    'cases:',
    '  - name: a contractor is refused',
    '    input:',
    '      principal: { id: carl, groups: [staff, contractors], roles: [] }',
    '      action: http:GET',
    '      resource: { kind: http, id: /api/projects/1 }',
    '      context: { ip: 192.0.2.44, geo: { country: DE, asn: 3320 } }',
    '    expect: { effect: deny }',
    '',
  ].join('\n'),
};

/** `git push` with its output (the push report is on stderr, "remote:" lines). */
function gitPush(dir, url) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked('git', ['push', url, 'HEAD:main'], {
      cwd: dir,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.stderr.on('data', (c) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new Error(`git push failed (${status}):\n${out}`));
    });
  });
}

/**
 * Commits the candidate and pushes it; `watch(sha)` starts (before the push) the wait for its
 * impact, so the impact is timed while `git push` still runs.
 */
async function pushCandidate(cp, log, watch) {
  const dir = await cloneEmbedded(cp);
  try {
    const { execFileSync } = await import('node:child_process');
    const git = (...args) =>
      execFileSync(
        'git',
        ['-c', 'user.name=Bench Runner', '-c', 'user.email=bench@example.com', ...args],
        { cwd: dir, encoding: 'utf8' },
      ).trim();
    // The example repository keeps its policies at the root or under policies/.
    const root = git('ls-files').includes('policies/stepgate.yaml') ? 'policies' : '.';
    for (const [path, content] of Object.entries(CANDIDATE_FILES)) {
      const file = join(dir, root, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    git('add', '--all');
    git('commit', '--quiet', '-m', 'bench: deny the API to contractors');
    const sha = git('rev-parse', 'HEAD');
    log(`pushing candidate ${sha.slice(0, 7)}`);
    const started = now();
    const impact = watch(sha);
    const output = await gitPush(dir, embeddedRepoUrl(cp));
    const pushedMs = now() - started;
    const { version, at } = await impact;
    return { sha, started, pushedMs, output, version, impactMs: at - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples the control plane's VmRSS every `intervalMs` until stopped. */
function rssSampler(pid, intervalMs = 100) {
  const samples = [];
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m) samples.push(m.rssMiB);
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const end = memoryOf(pid);
      return {
        samples: samples.length,
        maxRssMiB: Math.max(...samples),
        startRssMiB: samples[0] ?? NaN,
        hwmMiB: end?.peakRssMiB ?? NaN,
      };
    },
  };
}

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick = false, log = (line) => console.error(line) } = {}) {
  const cfg = config(quick);
  const cleanups = new Cleanups();
  try {
    const { busy, cp } = await startFleetBench(cleanups, 'bench-replay', log);
    await waitFor(
      'an active version (the example policies seeded at start-up)',
      async () => (await api(cp, 'GET', '/v1/data')).versionNumber !== null,
      120_000,
      250,
    );

    // 1. Seed.
    const end = new Date(Date.now() - 9 * 60_000);
    const windowFrom = new Date(end.getTime() - 23 * HOUR);
    const bigTo = new Date(end.getTime() - 2 * DAY);
    const bigFrom = new Date(bigTo.getTime() - 7 * DAY);
    const client = new pg.Client({ connectionString: cp.databaseUrl });
    await client.connect();
    cleanups.add(() => client.end());
    const seedStarted = now();
    await seed(client, 'w', bigFrom, bigTo, cfg.records);
    await seed(client, 'd', windowFrom, end, cfg.windowRecords);
    await client.query('VACUUM ANALYZE decision_log');
    const seedSeconds = (now() - seedStarted) / 1000;
    const bytes = Number(
      (await client.query(`SELECT pg_total_relation_size('decision_log') AS b`)).rows[0].b,
    );
    log(
      `seeded ${cfg.records.toLocaleString('en-US')} + ${cfg.windowRecords.toLocaleString('en-US')} records in ${seedSeconds.toFixed(1)} s (decision_log ${(bytes / 2 ** 20).toFixed(0)} MiB)`,
    );

    // 2. Push -> impact (the sync's 24 h replay).
    const push = await pushCandidate(cp, log, async (sha) => {
      let found;
      await waitFor(
        `the sync replay of ${sha.slice(0, 7)}`,
        async () => {
          found = await api(cp, 'GET', `/v1/versions/${sha}`, undefined, {
            expect: [200, 400, 404],
          });
          const status = found?.replay?.status;
          return status === 'done' || status === 'failed';
        },
        cfg.replayTimeoutMs,
        100,
      );
      return { version: found, at: now() };
    });
    const impactLine = push.output
      .split('\n')
      .filter((l) => /impact|chang/i.test(l))
      .join(' | ');
    const { version, impactMs } = push;
    const syncReplay = version.replay;
    const printed = !/not ready yet/.test(push.output) && /chang/i.test(impactLine);
    log(
      `push -> impact ready ${(impactMs / 1000).toFixed(1)} s (git push took ${(push.pushedMs / 1000).toFixed(1)} s; impact printed in the push output: ${printed ? 'yes' : 'no'}); ${JSON.stringify(syncReplay?.totals ?? syncReplay?.status)}`,
    );

    // 3. Replay the big window with the candidate.
    const rss = rssSampler(cp.pid);
    const cpuCp = cpuMeter(cp.pid);
    const cpuMachine = machineMeter();
    const started = now();
    const { id } = await api(
      cp,
      'POST',
      `/v1/versions/${version.number}/replay`,
      { since: bigFrom.toISOString(), until: bigTo.toISOString() },
      { expect: [202] },
    );
    let replay;
    await waitFor(
      `replay ${id}`,
      async () => {
        replay = await api(cp, 'GET', `/v1/replays/${id}`);
        return replay.status !== 'queued' && replay.status !== 'running';
      },
      cfg.replayTimeoutMs,
      100,
    );
    const seconds = (now() - started) / 1000;
    const memory = rss.stop();
    const cpu = { cp: cpuCp().cores, machine: cpuMachine() };
    if (replay.status !== 'done')
      throw new Error(`replay ${id} ended ${replay.status}: ${replay.error}`);
    const totals = replay.result.totals;
    const rate = totals.records / seconds;
    log(
      `replayed ${totals.records} records in ${seconds.toFixed(1)} s: ${Math.round(rate)} records/s; changed ${totals.changed}; RSS max ${memory.maxRssMiB.toFixed(0)} MiB, HWM ${memory.hwmMiB.toFixed(0)} MiB`,
    );
    return section({
      cfg,
      quick,
      busy,
      seedSeconds,
      bytes,
      seconds,
      rate,
      totals,
      byRule: replay.result.byRule,
      memory,
      cpu,
      push,
      impactMs,
      printed,
      syncReplay,
      expected: cfg.records / 20,
    });
  } finally {
    await cleanups.run();
  }
}

const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** @returns {import('./report/section.js').BenchSection} */
function section(r) {
  const { cfg } = r;
  const sync = r.syncReplay?.totals;
  const notes = [
    `decision_log seeded in PostgreSQL (INSERT ... SELECT generate_series, then VACUUM ANALYZE: ${r.seedSeconds.toFixed(0)} s, ${int(r.bytes / 2 ** 20)} MiB with indexes): ${int(cfg.records)} records 2-9 days old and ${int(cfg.windowRecords)} in the last 24 h, shaped like agent records for the example policies (staff, contractors, API admins, secret readers, guests; http:* and secrets:read; allow / deny / step_up with their reasons; evidence level and auth time; 1 in 20 with a masked field no rule reads).`,
    `Candidate: the example policies plus api-contractor-freeze (deny http:* to the contractors group), pushed with git; 1 in 20 records (${int(r.expected)} of the big window) change allow -> deny.`,
    `Replay = POST /v1/versions/{candidate}/replay over the ${int(cfg.records)}-record window until GET /v1/replays/{id} is done (polled every 100 ms): read, decide, diff, end to end. RSS = the control plane's VmRSS sampled every 100 ms (${r.memory.samples} samples) and its VmHWM (peak since start) at the end.`,
    `Push -> impact = from the start of \`git push\` to the candidate's sync replay (last 24 h) done in GET /v1/versions/{sha}.`,
    `Target >= ${TARGET_RATE.toLocaleString('en-US')} records/s: ${int(r.rate)} — ${r.rate >= TARGET_RATE ? 'met' : 'NOT met'}.`,
  ];
  if (r.totals.changed !== r.expected)
    notes.push(
      `Changed ${int(r.totals.changed)}, expected ${int(r.expected)}: the seeded recorded effects differ from what the example policies decide for some shape.`,
    );
  if (r.busy > 0.1)
    notes.push(
      `The machine was ${(r.busy * 100).toFixed(0)} % busy with other processes before the run: figures are pessimistic.`,
    );
  if (r.quick) notes.push(`Quick mode: ${int(cfg.records)} + ${int(cfg.windowRecords)} records.`);
  const topRule = r.byRule?.[0];
  return {
    id: 'replay',
    title: 'Replay: a candidate version re-decides stored decisions (read, decide, diff)',
    tables: [
      {
        title: `Replay of ${int(cfg.records)} stored records with a stricter candidate`,
        columns: ['measure', 'value'],
        rows: [
          ['records/s end to end', int(r.rate)],
          ['replay time (s)', r.seconds.toFixed(1)],
          [
            'records / replayed / changed / not replayable',
            `${int(r.totals.records)} / ${int(r.totals.replayed)} / ${int(r.totals.changed)} / ${int(r.totals.notReplayable)}`,
          ],
          [
            'top rule of the changes',
            topRule ? `${topRule.policy}/${topRule.rule} (${int(topRule.count)})` : 'none',
          ],
          [
            'control plane RSS: before / max sampled / VmHWM (MiB)',
            `${int(r.memory.startRssMiB)} / ${int(r.memory.maxRssMiB)} / ${int(r.memory.hwmMiB)}`,
          ],
          [
            'CPU during the replay: control plane / whole machine (cores)',
            `${r.cpu.cp.toFixed(2)} / ${r.cpu.machine.toFixed(2)}`,
          ],
        ],
      },
      {
        title: `Push -> impact over the last 24 h (${int(cfg.windowRecords)} records)`,
        columns: ['measure', 'value'],
        rows: [
          ['push start -> impact ready (s)', (r.impactMs / 1000).toFixed(1)],
          ['git push returned after (s)', (r.push.pushedMs / 1000).toFixed(1)],
          ['impact printed in the git push output', r.printed ? 'yes' : 'no'],
          [
            'sync replay: status / records / changed',
            `${r.syncReplay?.status ?? 'none'} / ${int(sync?.records)} / ${int(sync?.changed)}`,
          ],
        ],
      },
    ],
    ratios: {
      replay_vs_target: {
        value: r.rate / TARGET_RATE,
        better: 'higher',
        description: `replayed records/s end to end / ${TARGET_RATE.toLocaleString('en-US')} (issue 14 target)`,
      },
    },
    metrics: {
      records_per_second: r.rate,
      replay_seconds: r.seconds,
      records: r.totals.records,
      changed: r.totals.changed,
      not_replayable: r.totals.notReplayable,
      rss_max_mib: r.memory.maxRssMiB,
      vm_hwm_mib: r.memory.hwmMiB,
      cp_cpu_cores: r.cpu.cp,
      push_to_impact_seconds: r.impactMs / 1000,
      seed_seconds: r.seedSeconds,
    },
    charts: [
      {
        id: 'replay-rate',
        title: 'Replay, records/s end to end',
        unit: 'records/s',
        bars: [
          { label: 'replayed', value: r.rate },
          { label: 'target', value: TARGET_RATE },
        ],
      },
    ],
    notes,
  };
}

if (isMain(import.meta.url))
  await runStandalone('bench:replay', run, (quick) => (quick ? 180_000 : 600_000));
