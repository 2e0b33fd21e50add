#!/usr/bin/env node
// The ceiling of decision-log ingest: the control plane's INSERT ... SELECT FROM
// jsonb_to_recordset statement alone, straight into PostgreSQL with `pg` (no Nest, no queue, no
// socket.io), at several rows per statement, commit modes and connections in parallel. Own
// database (the real migrations applied), dropped at the end.
// `node bench/ingest-insert.bench.js [--quick]`
// Knobs: BENCH_INSERT_SECONDS (per case; quick: 3)  BENCH_INSERT_ROWS=100,1000,4000 (rows per
//        statement)  BENCH_INSERT_DROP_INDEXES=decision_log_effect_at_idx,... (what an index costs)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

const ADMIN_DATABASE =
  process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const quick = process.argv.includes('--quick');
const SECONDS = Number(process.env.BENCH_INSERT_SECONDS ?? (quick ? 3 : 8));
const ROWS = (process.env.BENCH_INSERT_ROWS ?? '100,1000,4000').split(',').map(Number);
const DROP = (process.env.BENCH_INSERT_DROP_INDEXES ?? '').split(',').filter(Boolean);

/** apps/control-plane/src/decisions/decisions.repository.ts (insertRows). */
const INSERT = `
  INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
                            resource_kind, resource_id, require, reasons, shadow_effect,
                            shadow_revision, shadow_reasons, input, errors, duration_ns)
  SELECT id, at, agent_id, revision, effect::decision_effect, fail_reason, principal, action,
         resource_kind, resource_id, require, reasons, shadow_effect::decision_effect,
         shadow_revision, shadow_reasons, input, errors, duration_ns
  FROM jsonb_to_recordset($1::jsonb) AS r(
    id text, at timestamptz, agent_id text, revision integer, effect text, fail_reason text,
    principal text, action text, resource_kind text, resource_id text, require jsonb,
    reasons jsonb, shadow_effect text, shadow_revision integer, shadow_reasons jsonb,
    input jsonb, errors integer, duration_ns bigint)
  ON CONFLICT (id) DO NOTHING`;

const EFFECTS = ['allow', 'allow', 'allow', 'deny', 'step_up'];
const ACTIONS = ['k8s:get', 'k8s:exec', 'deploy:production', 'db:query', 'http:GET'];

/** The row of one record as the ingest service sends it (bench/support/sim-agents.js records). */
function row(prefix, seq) {
  const effect = EFFECTS[seq % EFFECTS.length];
  return {
    id: `${prefix}-${seq}`,
    at: new Date().toISOString(),
    agent_id: `agent-${seq % 200}`,
    revision: 3,
    effect,
    principal: `user-${seq % 500}@example.com`,
    action: ACTIONS[seq % ACTIONS.length],
    resource_kind: 'namespace',
    resource_id: `payments-${seq % 50}`,
    require: effect === 'step_up' ? { level: 'mfa', maxAge: 900 } : undefined,
    reasons: [{ policy: 'production-access', rule: `rule-${seq % 7}`, effect }],
    input: {
      principal: { id: `user-${seq % 500}@example.com`, roles: ['engineer'] },
      context: { ip: '10.0.0.1', mfa: seq % 3 === 0 },
    },
    errors: 0,
    duration_ns: 20_000 + (seq % 50_000),
  };
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Rows/s over SECONDS with `connections` clients each inserting `rows`-row statements. */
async function measure(url, { rows, connections, syncCommit }, prefix) {
  const stopAt = performance.now() + SECONDS * 1000;
  let inserted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, (_, c) =>
      withClient(url, async (client) => {
        if (!syncCommit) await client.query('SET synchronous_commit = off');
        let seq = 0;
        while (performance.now() < stopAt) {
          const batch = [];
          for (let i = 0; i < rows; i++) batch.push(row(`${prefix}-${c}`, seq++));
          inserted += (await client.query(INSERT, [JSON.stringify(batch)])).rowCount;
        }
      }),
    ),
  );
  return inserted / ((performance.now() - started) / 1000);
}

const name = `stepgate_insert_bench_${process.pid}`;
const url = new URL(ADMIN_DATABASE);
url.pathname = `/${name}`;
await withClient(ADMIN_DATABASE, (c) => c.query(`CREATE DATABASE ${name}`));
try {
  await withClient(url.toString(), async (client) => {
    const root = join(import.meta.dirname, '..', 'prisma', 'migrations');
    for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()))
      await client.query(readFileSync(join(root, dir.name, 'migration.sql'), 'utf8'));
    for (const index of DROP) await client.query(`DROP INDEX "${index}"`);
  });
  if (DROP.length) console.log(`without ${DROP.join(', ')}`);
  const cases = [];
  for (const rows of ROWS)
    for (const syncCommit of [true, false])
      for (const connections of [1, 2]) cases.push({ rows, connections, syncCommit });
  console.log('| rows/statement | connections | synchronous_commit | rows/s |');
  console.log('| --- | --- | --- | --- |');
  let n = 0;
  for (const c of cases) {
    // Each case starts from an empty table: index depth would otherwise favour the first ones.
    await withClient(url.toString(), (client) => client.query('TRUNCATE decision_log'));
    const rate = await measure(url.toString(), c, `c${n++}`);
    console.log(
      `| ${c.rows} | ${c.connections} | ${c.syncCommit ? 'on' : 'off'} | ${Math.round(rate).toLocaleString('en-US')} |`,
    );
  }
} finally {
  await withClient(ADMIN_DATABASE, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
