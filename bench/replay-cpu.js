#!/usr/bin/env node
// Replay CPU per record, in process: the built ReplayRunnerService over a decision_log seeded
// exactly as bench/replay.bench.js seeds it (its SEED_SQL, read from that file), with the same
// candidate (the example policies/ plus api-contractor-freeze), but without HTTP, BullMQ or the
// rest of the control plane, so the figure is the replay's own: records per CPU-second of this
// process (user + system), which a loaded machine disturbs far less than records/s.
//
//   node bench/replay-cpu.js [--records N] [--keep] [--db NAME] [--runs R] [--workers W]
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/replay-cpu.js --db NAME   (a profile)
//
// --keep leaves the seeded database for later runs (--db NAME reuses it, and seeds it when its
// decision_log is empty; seeding 1 M records takes about 40 s); without --keep the database is
// dropped at the end. The replay's
// bookkeeping (ReplayRepository, versions, live data) is replaced by in-memory stand-ins: one
// Prisma write per page is the same either way. --workers W (default 1: in process) splits the
// window over W worker threads as STEPGATE_REPLAY_WORKERS does; the CPU-seconds then include
// theirs. After `npx tsc -b tsconfig.build.json`.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CANDIDATE_FILES, SEED_SQL } from './replay.bench.js';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const ROOT = join(import.meta.dirname, '..');
const dist = (path) => import(join(ROOT, path));
/** The control plane's build to measure (REPLAY_CPU_DIST: another build, to compare). */
const CP_DIST = process.env.REPLAY_CPU_DIST ?? join(ROOT, 'apps/control-plane/dist');
const cpDist = (path) => import(join(CP_DIST, path));

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
    db: { type: 'string' },
    runs: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
  },
});
const RECORDS = Number(args.records);
const ADMIN =
  process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

// The bench's own candidate and seed (bench/replay.bench.js), so both measure the same replay.
const CANDIDATE = {
  path: 'api/contractor-freeze.yaml',
  content: CANDIDATE_FILES['api/contractor-freeze.yaml'],
};

function databaseUrl(name) {
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The window [from, to) holding RECORDS seeded records. */
async function prepare(name, fresh) {
  const url = databaseUrl(name);
  const to = new Date('2026-11-20T00:00:00.000Z');
  const from = new Date(to.getTime() - 7 * 86400_000);
  if (fresh) {
    const { applyMigrations } = await dist('apps/control-plane/dist/database/apply-migrations.js');
    await applyMigrations(url);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM decision_log');
    if (rows[0].n > 0) return { url, from, to };
    const started = performance.now();
    const sql = SEED_SQL;
    for (let start = 1; start <= RECORDS; start += 250_000) {
      const end = Math.min(RECORDS, start + 249_999);
      await client.query(sql, [from.toISOString(), to.toISOString(), RECORDS, 'w', start, end]);
    }
    await client.query('VACUUM ANALYZE decision_log');
    console.error(
      `seeded ${RECORDS} records in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await client.end();
  }
  return { url, from, to };
}

async function candidate() {
  const { readPolicyDir } = await dist('apps/cli/dist/policy-files/read-policy-dir.js');
  const { compile } = await dist('packages/policy/dist/index.js');
  const files = [...(await readPolicyDir(join(ROOT, 'policies'))), CANDIDATE];
  const result = compile(files);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policySet;
}

function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * One runner for every run, as the control plane has one: later runs find the worker threads an
 * earlier one left idle (--workers above 1), as a replay after the push's impact replay does.
 */
async function makeRunner(url, window, policySet) {
  const { PrismaService } = await cpDist('database/prisma.service.js');
  const { ReplayRecordsRepository } = await cpDist('replay/replay-records.repository.js');
  const { ReplayRunnerService } = await cpDist('replay/replay-runner.service.js');
  const prisma = new PrismaService(url);
  await prisma.$connect();
  const ended = { finished: undefined };
  const replays = {
    get: async () => ({
      id: 'r',
      status: 'queued',
      since: window.from,
      until: window.to,
      filter: {},
      examples: 5,
      versionId: 'v',
      versionNumber: 2,
      policySet: null,
    }),
    start: async () => true,
    progress: async () => true,
    finish: async (_id, status, read, result, error) => {
      ended.finished = { status, read, result, error };
      return true;
    },
    keepPartial: async () => undefined,
  };
  const versions = { byId: async () => ({ policySet }) };
  const liveData = { documentsAt: async () => ({}) };
  const logger = { info: () => undefined, warn: (o, m) => console.error(m, o) };
  const runner = new ReplayRunnerService(
    replays,
    new ReplayRecordsRepository(prisma),
    versions,
    liveData,
    logger,
    { databaseUrl: url, replay: { workers: Number(args.workers), minRecords: 0 } },
  );
  return {
    ended,
    runner,
    close: async () => {
      runner.onModuleDestroy?.();
      await prisma.$disconnect();
    },
  };
}

async function replayOnce({ ended, runner }) {
  ended.finished = undefined;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await runner.run('r');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  const { finished } = ended;
  if (finished?.status !== 'done') throw new Error(`replay ended ${JSON.stringify(finished)}`);
  const { totals } = finished.result;
  return { seconds, cpu, totals };
}

const name = args.db ?? `stepgate_replaycpu_${randomBytes(4).toString('hex')}`;
const fresh = args.db === undefined;
try {
  const window = await prepare(name, fresh);
  const policySet = await candidate();
  const replayer = await makeRunner(window.url, window, policySet);
  for (let run = 1; run <= Number(args.runs); run++) {
    const { seconds, cpu, totals } = await replayOnce(replayer);
    const line = {
      run,
      workers: Number(args.workers),
      records: totals.records,
      changed: totals.changed,
      notReplayable: totals.notReplayable,
      seconds: Number(seconds.toFixed(2)),
      cpuSeconds: Number(cpu.toFixed(2)),
      recordsPerSecond: Math.round(totals.records / seconds),
      recordsPerCpuSecond: Math.round(totals.records / cpu),
      cores: Number((cpu / seconds).toFixed(2)),
    };
    console.log(JSON.stringify(line));
  }
  await replayer.close();
} finally {
  if (!args.keep && fresh) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  else console.error(`database kept: --db ${name}`);
}
