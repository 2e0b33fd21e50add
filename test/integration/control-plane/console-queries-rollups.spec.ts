/**
 * The decision log's roll-ups (decision_minute, decision_hour_rule, decision_hour_principal),
 * kept by PostgreSQL triggers on decision_log, and GET /v1/decisions/stats and /timeline, which
 * read them for the whole minutes or hours of a window and decision_log for the rest. Every
 * answer must equal counting decision_log itself: the suite writes random decisions (random
 * milliseconds, effects, fail reasons, principals, reasons with repeated rules) from many
 * connections at once with the ingest's own statement, re-sends batches already stored, deletes
 * and updates rows, then compares the roll-ups with GROUP BYs of the log and the routes'
 * answers with the raw-count SQL the routes ran before the roll-ups, over random windows
 * (partial minutes and hours included).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  timelinePlan,
  timelineView,
  type TimelineRow,
} from '../../../apps/control-plane/src/decisions/decision-timeline.js';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt } from './support.js';

const MINUTE = 60_000;
const HOUR = 3600_000;
/**
 * The decisions lie in [T0 - 5 min, T0 + 3 h 5 min): three whole hours and partial ones, all in
 * the past and within the control plane's retention (its prune job deletes older ones).
 */
const T0 = Math.floor((Date.now() - 4 * HOUR) / HOUR) * HOUR;
const FIRST = T0 - 5 * MINUTE;
const SPAN = 3 * HOUR + 10 * MINUTE;
const SEED = Number(process.env.ROLLUP_SEED ?? Date.now() % 1_000_000);

let cp: ControlPlaneProcess;
let viewer: string;
const clients: pg.Client[] = [];
let db: pg.Client;

/** mulberry32: the suite's random choices, repeatable with ROLLUP_SEED=<seed in the failure>. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = random(SEED);
const int = (n: number) => Math.floor(rng() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

type Effect = 'allow' | 'deny' | 'step_up';
const EFFECTS: Effect[] = ['allow', 'deny', 'step_up'];
/** Rules of a few policies, one with a slash in its name as the agents' fail-mode rules. */
const RULES = [
  ...Array.from({ length: 8 }, (_, i) => ({ policy: 'api', rule: `r${i}` })),
  ...Array.from({ length: 6 }, (_, i) => ({ policy: 'admin', rule: `r${i}` })),
  { policy: '(agent)', rule: 'fail_closed/no_bundle' },
];

interface Row {
  id: string;
  at: string;
  agent_id: string;
  revision: number;
  effect: Effect;
  fail_reason: string | null;
  principal: string;
  action: string;
  resource_kind: string;
  resource_id: string;
  reasons: { policy: string; rule: string; effect: Effect }[];
  errors: number;
  duration_ns: number;
}

let nextId = 0;
/** One random decision in [FIRST, FIRST + SPAN), or in the given hour. */
function decision(base = FIRST, span = SPAN): Row {
  const effect = pick(['allow', 'allow', 'deny', 'step_up'] as const);
  const reasons = Array.from({ length: int(4) }, () => ({ ...pick(RULES), effect: pick(EFFECTS) }));
  // A rule of the decision's own effect, sometimes listed twice: counted once per decision.
  if (effect !== 'allow' && rng() < 0.8) reasons.push({ ...pick(RULES), effect });
  if (reasons.length > 0 && rng() < 0.2) reasons.push(reasons[0]!);
  return {
    id: `rollup-${SEED}-${nextId++}`,
    at: new Date(base + int(span)).toISOString(),
    agent_id: `agent-${int(5)}`,
    revision: 1,
    effect,
    fail_reason: rng() < 0.1 ? pick(['no_bundle', 'stale_bundle']) : null,
    // Few principals per effect: many ties at the tenth place of the top lists.
    principal:
      effect === 'allow'
        ? `user-${int(40)}`
        : effect === 'deny'
          ? `user-${int(25)}`
          : `op-${int(15)}`,
    action: 'http:GET',
    resource_kind: 'http',
    resource_id: `/r/${int(50)}`,
    reasons,
    errors: 0,
    duration_ns: 1000,
  };
}

/** The ingest's statement (DecisionsRepository.insertRows); returns the rows really inserted. */
async function insertRows(client: pg.Client, rows: Row[]): Promise<number> {
  const result = await client.query(
    `INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
                               resource_kind, resource_id, reasons, errors, duration_ns)
     SELECT id, at, agent_id, revision, effect::decision_effect, fail_reason, principal, action,
            resource_kind, resource_id, reasons, errors, duration_ns
     FROM jsonb_to_recordset($1::jsonb) AS r(
       id text, at timestamptz, agent_id text, revision integer, effect text, fail_reason text,
       principal text, action text, resource_kind text, resource_id text, reasons jsonb,
       errors integer, duration_ns bigint)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
  return result.rowCount ?? 0;
}

// ---------------------------------------------------------------------------------------------
// The answers counted from decision_log alone (the SQL of the routes before the roll-ups)

async function rawStats(from: string, to: string) {
  const window = [from, to];
  const q = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = window) =>
    (await db.query<T>(sql, values)).rows;
  const byEffect = { allow: 0, deny: 0, step_up: 0 };
  for (const row of await q<{ effect: Effect; count: number }>(
    `SELECT effect::text AS effect, count(*)::int AS count FROM decision_log
     WHERE at >= $1 AND at < $2 GROUP BY 1`,
  ))
    byEffect[row.effect] = row.count;
  const byFailReason = await q<{ reason: string; count: number }>(
    `SELECT fail_reason AS reason, count(*)::int AS count FROM decision_log
     WHERE at >= $1 AND at < $2 AND fail_reason IS NOT NULL GROUP BY 1`,
  );
  const principals = (effect: Effect) =>
    q<{ principal: string; count: number }>(
      `SELECT principal, count(*)::int AS count FROM decision_log
       WHERE at >= $1 AND at < $2 AND effect = $3::decision_effect
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
      [...window, effect],
    );
  const rules = (effect: Effect) =>
    q<{ rule: string; count: number }>(
      `SELECT (r->>'policy') || '/' || (r->>'rule') AS rule, count(DISTINCT d.id)::int AS count
       FROM decision_log d CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS r
       WHERE d.at >= $1 AND d.at < $2 AND d.effect = $3::decision_effect AND r->>'effect' = $4
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
      [...window, effect, effect],
    );
  return {
    from,
    to,
    total: byEffect.allow + byEffect.deny + byEffect.step_up,
    byEffect,
    byFailReason: sortReasons(byFailReason),
    topDeniedPrincipals: await principals('deny'),
    topSteppedUpPrincipals: await principals('step_up'),
    topDenyRules: await rules('deny'),
    topStepUpRules: await rules('step_up'),
  };
}

/** Equal counts have no order in the answer: compare by count, then reason. */
const sortReasons = (rows: { reason: string; count: number }[]) =>
  [...rows].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));

async function rawTimeline(from: string, to: string, bucket: number) {
  const plan = timelinePlan({ from, to, bucket });
  const { rows } = await db.query<TimelineRow>(
    `SELECT date_bin($3::int * interval '1 second', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
              AS start, effect::text AS effect, count(*)::int AS count
     FROM decision_log WHERE at >= $1 AND at < $2 GROUP BY 1, 2`,
    [from, to, bucket],
  );
  return timelineView(plan, rows);
}

/** The roll-ups as rows, and the same GROUP BYs computed from decision_log now. */
async function rollupsAndRecount() {
  const rows = async (sql: string) => (await db.query(sql)).rows;
  const origin = `TIMESTAMPTZ '1970-01-01 00:00:00+00'`;
  const matched = `
    SELECT DISTINCT d.id, d.effect, date_bin(interval '1 hour', d.at, ${origin}) AS bucket,
           (r->>'policy') || '/' || (r->>'rule') AS rule
    FROM decision_log d CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS r
    WHERE d.effect IN ('deny', 'step_up') AND r->>'effect' = d.effect::text`;
  return {
    rollups: {
      minute: await rows(`SELECT bucket, effect::text, fail_reason, n::int FROM decision_minute
                          ORDER BY 1, 2, 3`),
      rule: await rows(`SELECT bucket, effect::text, rule, n::int FROM decision_hour_rule
                        ORDER BY 1, 2, 3`),
      principal: await rows(`SELECT bucket, effect::text, principal, n::int
                             FROM decision_hour_principal ORDER BY 1, 2, 3`),
    },
    recount: {
      minute: await rows(`
        SELECT date_bin(interval '1 minute', at, ${origin}) AS bucket, effect::text,
               coalesce(fail_reason, '') AS fail_reason, count(*)::int AS n
        FROM decision_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
      rule: await rows(`
        SELECT bucket, effect::text, rule, count(*)::int AS n FROM (${matched}) AS m
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
      principal: await rows(`
        SELECT date_bin(interval '1 hour', at, ${origin}) AS bucket, effect::text, principal,
               count(*)::int AS n
        FROM decision_log WHERE effect IN ('deny', 'step_up') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    },
  };
}

async function expectRollupsMatchTheLog(): Promise<void> {
  const { rollups, recount } = await rollupsAndRecount();
  expect(rollups.minute.length, `seed ${SEED}`).toBeGreaterThan(0);
  expect(rollups, `seed ${SEED}`).toEqual(recount);
}

/** A random instant around the data, on a whole hour, minute or second now and then. */
function randomInstant(): number {
  const t = FIRST - 10 * MINUTE + int(SPAN + 20 * MINUTE);
  const align = rng();
  if (align < 0.15) return Math.round(t / HOUR) * HOUR;
  if (align < 0.35) return Math.round(t / MINUTE) * MINUTE;
  if (align < 0.5) return Math.round(t / 1000) * 1000;
  return t;
}

function randomWindow(): { from: string; to: string } {
  let [a, b] = [randomInstant(), randomInstant()];
  if (a === b) b += 1 + int(90_000);
  if (a > b) [a, b] = [b, a];
  return { from: new Date(a).toISOString(), to: new Date(b).toISOString() };
}

async function apiStats(from: string, to: string) {
  const response = await api(
    cp.url,
    viewer,
    'GET',
    `/v1/decisions/stats?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return { ...response.body, byFailReason: sortReasons(response.body.byFailReason) };
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await createToken(cp, 'rollups-viewer', ['viewer'])).token;
  for (let i = 0; i < 10; i++) {
    const client = new pg.Client({ connectionString: cp.databaseUrl });
    await client.connect();
    clients.push(client);
  }
  db = clients[0]!;
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.end()));
  await cp?.destroy();
});

describe('decision roll-ups', () => {
  it('count each stored decision once under concurrent batches and re-sent decisions', async () => {
    const committed: Row[][] = [];
    let sent = 0;
    let inserted = 0;
    // 10 connections, 12 batches each: single-statement transactions as the ingest sends them,
    // running at once, most of them over the same minutes and hours.
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 12; i++) {
          const fresh = Array.from({ length: 1 + int(250) }, () => decision());
          // Decisions already stored, re-sent as an agent does after a lost acknowledgement.
          const again = committed.length > 0 && rng() < 0.5 ? pick(committed).slice(0, 40) : [];
          const batch = [...fresh, ...again];
          // Not `inserted += await ...`: that reads `inserted` before the other connections add.
          const count = await insertRows(client, batch);
          inserted += count;
          sent += batch.length;
          committed.push(fresh);
        }
      }),
    );
    const stored = committed.reduce((sum, batch) => sum + batch.length, 0);
    expect(inserted).toBe(stored);
    expect(sent).toBeGreaterThan(stored);
    // Every batch once more: nothing is inserted, nothing is counted.
    for (const batch of committed) expect(await insertRows(db, batch)).toBe(0);
    await expectRollupsMatchTheLog();
  }, 120_000);

  it('a re-sent batch adds nothing, its new decisions alone are counted', async () => {
    const hour = T0 - 3 * HOUR;
    const count = async () =>
      Number(
        (
          await db.query(
            `SELECT coalesce(sum(n), 0) AS n FROM decision_minute
             WHERE bucket >= $1 AND bucket < $2`,
            [new Date(hour), new Date(hour + HOUR)],
          )
        ).rows[0].n,
      );
    const batch = Array.from({ length: 50 }, () => decision(hour, HOUR));
    expect(await insertRows(db, batch)).toBe(50);
    expect(await count()).toBe(50);
    const more = Array.from({ length: 7 }, () => decision(hour, HOUR));
    expect(await insertRows(db, [...batch, ...more])).toBe(7);
    expect(await count()).toBe(57);
    await expectRollupsMatchTheLog();
  });

  it('GET /v1/decisions/stats answers as counting decision_log, over random windows', async () => {
    const windows = [
      {
        from: new Date(FIRST - HOUR).toISOString(),
        to: new Date(FIRST + SPAN + HOUR).toISOString(),
      },
      // Whole hours; whole minutes; inside one minute; across one minute boundary only.
      { from: new Date(T0).toISOString(), to: new Date(T0 + 2 * HOUR).toISOString() },
      {
        from: new Date(T0 + 7 * MINUTE).toISOString(),
        to: new Date(T0 + 93 * MINUTE).toISOString(),
      },
      { from: new Date(T0 + 10_250).toISOString(), to: new Date(T0 + 50_001).toISOString() },
      { from: new Date(T0 + 30_000).toISOString(), to: new Date(T0 + 90_000).toISOString() },
      ...Array.from({ length: 40 }, randomWindow),
    ];
    for (const { from, to } of windows)
      expect(await apiStats(from, to), `seed ${SEED}, ${from} .. ${to}`).toEqual(
        await rawStats(from, to),
      );
  }, 120_000);

  it('GET /v1/decisions/timeline answers as counting decision_log, over random windows', async () => {
    for (let i = 0; i < 40; i++) {
      const { from, to } =
        i === 0
          ? {
              from: new Date(FIRST - 30_000).toISOString(),
              to: new Date(FIRST + SPAN).toISOString(),
            }
          : randomWindow();
      const bucket = pick([30, 60, 120, 300, 600, 3600]);
      const response = await api(
        cp.url,
        viewer,
        'GET',
        `/v1/decisions/timeline?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&bucket=${bucket}`,
      );
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body, `seed ${SEED}, ${from} .. ${to} by ${bucket} s`).toEqual(
        await rawTimeline(from, to, bucket),
      );
    }
  }, 120_000);

  it('follow deletes (retention) and updates of decision rows', async () => {
    // Retention deletes in chunks, its cut in the middle of a minute (pruneChunk's statement).
    const cutoff = new Date(T0 + 17 * MINUTE + 12_345);
    let deleted = 0;
    for (;;) {
      const { rowCount } = await db.query(
        `DELETE FROM decision_log
         WHERE id IN (SELECT id FROM decision_log WHERE at < $1 LIMIT $2)`,
        [cutoff, 300],
      );
      deleted += rowCount ?? 0;
      if (!rowCount) break;
    }
    expect(deleted).toBeGreaterThan(0);
    await db.query(
      `UPDATE decision_log SET effect = 'deny', principal = 'moved', at = at + interval '61 s'
       WHERE id IN (SELECT id FROM decision_log WHERE effect = 'step_up' ORDER BY id LIMIT 200)`,
    );
    await expectRollupsMatchTheLog();
    // No count left at zero where everything was deleted.
    const { rows } = await db.query(
      `SELECT (SELECT count(*) FROM decision_minute WHERE n <= 0)
            + (SELECT count(*) FROM decision_hour_rule WHERE n <= 0)
            + (SELECT count(*) FROM decision_hour_principal WHERE n <= 0) AS n`,
    );
    expect(Number(rows[0].n)).toBe(0);
    const { from, to } = {
      from: new Date(FIRST).toISOString(),
      to: new Date(T0 + HOUR).toISOString(),
    };
    expect(await apiStats(from, to)).toEqual(await rawStats(from, to));
  }, 60_000);

  it('are emptied with decision_log by TRUNCATE', async () => {
    await db.query('TRUNCATE decision_log');
    const { rollups } = await rollupsAndRecount();
    expect(rollups).toEqual({ minute: [], rule: [], principal: [] });
  });
});
