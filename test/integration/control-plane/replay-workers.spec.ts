/**
 * Replay over worker threads (issue 14, STEPGATE_REPLAY_WORKERS) on a real control plane with
 * PostgreSQL and Redis: the same records replayed by three workers (each reading and deciding
 * its own (at, id) slice with its own connection) and then, by a replica with one (in process),
 * give the same stored report, examples included; records sharing a timestamp across a slice
 * bound are counted once; agents' labels and the live documents of a data revision reach the
 * workers; and a DELETE cancels a replay the workers are running.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt, tempDirs, waitFor } from './support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';

const DOCS = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["docs:read"] }
rules:
  - name: read
    effect: allow
  - name: secret-mfa
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
`;
/** Selected by agent label: only records of an agent labelled region=eu can change by it. */
const EU_FREEZE = `apiVersion: stepgate/v1
kind: Policy
name: eu-freeze
target: { actions: ["docs:read"] }
agents: { region: eu }
rules:
  - name: contractors
    effect: deny
    when: '"contractors" in principal.groups'
`;

/** Records in the last hour, 300 to a timestamp: every slice bound falls inside such a run. */
const RECORDS = 6001;
const PER_INSTANT = 300;
/** Older records, a window long enough to cancel while the workers run. */
const BULK = 300_000;

const WORKER_ENV = {
  STEPGATE_REPLAY_WORKERS: '3',
  STEPGATE_REPLAY_WORKER_MIN_RECORDS: '0',
  STEPGATE_LOG_LEVEL: 'info',
};

const temp = tempDirs();
let cp: ControlPlaneProcess;
let operator: string;
let candidate: number;

const now = Date.now();
const base = new Date(now - 1800_000);
const recent = {
  since: new Date(now - 3600_000).toISOString(),
  until: new Date(now + 60_000).toISOString(),
};
const old = {
  since: new Date(now - 4 * 86400_000).toISOString(),
  until: new Date(now - 86400_000).toISOString(),
};

/**
 * g = 0..count-1; ids are md5 hashes, so within a timestamp the (at, id) order is not g's.
 * Agents eu-1 (region=eu), us-1 (region=us) and gone-1 (no agent row); contractors every 5th;
 * secret documents every 7th; every 17th from a blocked address, recorded at data revision 1
 * (blocked then: denied by the examples' risk-step-up/blocked-ip) or 2 (unblocked); a fail-mode
 * answer every 101st and a record written before replay every 103rd.
 */
const INSERT = `
INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
  resource_kind, resource_id, reasons, data_revision, signals, duration_ns, replay, input)
SELECT $1 || md5(g::text), $2::timestamptz + (g / $3) * interval '1 second',
  CASE WHEN g % 2 = 0 THEN 'eu-1' WHEN g % 4 = 1 THEN 'us-1' ELSE 'gone-1' END, 1,
  (CASE WHEN g % 101 = 0 THEN 'deny' ELSE 'allow' END)::decision_effect,
  CASE WHEN g % 101 = 0 THEN 'no_bundle' END, 'user-' || (g % 13), 'docs:read', 'doc',
  CASE WHEN g % 7 = 0 THEN 'secret/' ELSE 'public/' END || g,
  '[{"policy": "docs", "rule": "read", "effect": "allow"}]'::jsonb,
  CASE WHEN g % 17 = 0 THEN 1 + g % 2 END,
  '{"failed_logins": 0, "new_device": false}'::jsonb, 1,
  CASE WHEN g % 103 = 0 THEN NULL ELSE '{"version": 1}'::jsonb END,
  CASE WHEN g % 103 = 0 THEN NULL ELSE jsonb_build_object(
    'principal', jsonb_build_object('id', 'user-' || (g % 13),
      'groups', CASE WHEN g % 5 = 0 THEN '["staff", "contractors"]'::jsonb ELSE '["staff"]'::jsonb END),
    'action', 'docs:read',
    'resource', jsonb_build_object('kind', 'doc',
      'id', CASE WHEN g % 7 = 0 THEN 'secret/' ELSE 'public/' END || g),
    'context', jsonb_build_object('ip',
      CASE WHEN g % 17 = 0 THEN '203.0.113.7' ELSE '198.51.100.4' END)) END
FROM generate_series(0, $4::int - 1) AS g`;

async function sql<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: cp.databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function putBlocked(ranges: string[]): Promise<void> {
  const written = await fetch(`${cp.url}/v1/data/blocked_ips`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${cp.adminToken}`,
      'content-type': 'application/json',
      'x-stepgate-reason': 'replay workers test',
    },
    body: JSON.stringify(ranges),
  });
  expect(written.status, await written.clone().text()).toBe(200);
}

async function startReplay(base: string, body: Record<string, unknown>): Promise<string> {
  const started = await api(base, operator, 'POST', `/v1/versions/${candidate}/replay`, body);
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return started.body.id;
}

async function replayed(base: string, body: Record<string, unknown>): Promise<any> {
  const id = await startReplay(base, body);
  let done: any;
  await waitFor(
    `replay ${id} to end`,
    async () => {
      done = (await api(base, operator, 'GET', `/v1/replays/${id}`)).body;
      return done.status !== 'queued' && done.status !== 'running';
    },
    120_000,
  );
  expect(done.status, JSON.stringify(done)).toBe('done');
  return done;
}

/** The report without what differs between two runs of the same replay. */
function report(done: any): unknown {
  return { progress: done.progress, result: done.result };
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane(WORKER_ENV);
  operator = (await createToken(cp, 'replay-workers-operator', ['operator'])).token;
  const work = temp.make('replay-workers');
  await cloneEmbedded(cp, work);
  // The candidate first: once it is active, the live documents it declares can be written.
  candidate = (
    await pushPolicies(
      cp,
      work,
      { 'replay/docs.yaml': DOCS, 'replay/eu-freeze.yaml': EU_FREEZE },
      'replay workers: candidate',
    )
  ).number;
  // Data revision 1 blocks the address; revision 2 unblocks it.
  await putBlocked(['203.0.113.0/24']);
  await putBlocked([]);
  await sql(`INSERT INTO agent (id, labels, last_seen_at, status) VALUES
    ('eu-1', '{"region": "eu"}', now(), 'disconnected'),
    ('us-1', '{"region": "us"}', now(), 'disconnected')`);
  await sql(INSERT, ['w-', base.toISOString(), PER_INSTANT, RECORDS]);
  // Two to a second from the window's start: 1.7 days, all inside it.
  await sql(INSERT, ['bulk-', old.since, 2, BULK]);
  await sql('ANALYZE decision_log');
}, 600_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

describe('replay over worker threads', () => {
  let withWorkers: any[] = [];
  const cases = [{ examples: 5 }, { examples: 2, filter: { principal: 'user-3' } }];

  it('three workers: every record once, bounds inside runs of equal timestamps', async () => {
    // The plan's bounds (offsets 1999 and 3999 of 6001) each fall inside a run of records
    // sharing one timestamp, which two slices then split by id.
    const order = await sql<{ at: Date }>(
      `SELECT at FROM decision_log WHERE at >= $1 AND at < $2 ORDER BY at, id`,
      [recent.since, recent.until],
    );
    expect(order).toHaveLength(RECORDS);
    for (const end of [1999, 3999])
      expect(order[end]!.at.getTime(), `bound ${end}`).toBe(order[end + 1]!.at.getTime());

    withWorkers = [];
    for (const body of cases) withWorkers.push(await replayed(cp.url, { ...recent, ...body }));
    const [all] = withWorkers;
    expect(all.progress).toEqual({ read: RECORDS, estimatedTotal: RECORDS });
    expect(all.result.totals.records).toBe(RECORDS);
    expect(all.result.totals.notReplayable).toBe(60 + 59 - 1);
    const changes = Object.fromEntries(all.result.changes.map((g: any) => [g.change, g.count]));
    expect(changes['allow -> step_up']).toBeGreaterThan(0);
    expect(changes['allow -> deny']).toBeGreaterThan(0);
    // Labels reached the workers (eu-freeze changes eu-1's records only), and the documents of
    // data revision 1 (blocked-ip denies a record recorded at 1, never at 2).
    const rules = all.result.byRule.map((g: any) => `${g.policy}/${g.rule}`);
    expect(rules).toContain('eu-freeze/contractors');
    expect(rules).toContain('risk-step-up/blocked-ip');
    expect(cp.output()).toMatch(/"slices":3/);
  }, 300_000);

  it('cancels a replay the workers are running: partial report, never done', async () => {
    let caught: string | undefined;
    for (let attempt = 0; attempt < 5 && caught === undefined; attempt++) {
      const id = await startReplay(cp.url, old);
      const path = `/v1/replays/${id}`;
      await waitFor(
        'the replay to read its first pages',
        async () => {
          const body = (await api(cp.url, operator, 'GET', path)).body;
          return body.status !== 'queued' && (body.status !== 'running' || body.progress.read > 0);
        },
        60_000,
        10,
      );
      const cancelled = await api(cp.url, operator, 'DELETE', path);
      if (cancelled.body.status === 'cancelled') caught = path;
    }
    expect(caught, 'every replay ended before its DELETE').toBeDefined();
    let after: any;
    await waitFor('the workers to stop and the partial report to be kept', async () => {
      after = (await api(cp.url, operator, 'GET', caught!)).body;
      return after.result !== null;
    });
    expect(after.status).toBe('cancelled');
    expect(after.progress.estimatedTotal).toBe(BULK);
    expect(after.progress.read).toBeGreaterThan(0);
    expect(after.progress.read).toBeLessThan(BULK);
    expect(after.result.totals.records).toBe(after.progress.read);
  }, 300_000);

  // Last: it stops the first control plane.
  it('one worker (in process, a replica) stores exactly the same reports, examples included', async () => {
    expect(withWorkers).toHaveLength(cases.length);
    await cp.stop();
    const single = await startControlPlane(
      { ...WORKER_ENV, STEPGATE_REPLAY_WORKERS: '1' },
      { replicaOf: cp },
    );
    try {
      for (const [i, body] of cases.entries()) {
        const alone = await replayed(single.url, { ...recent, ...body });
        expect(report(alone), JSON.stringify(body)).toEqual(report(withWorkers[i]));
      }
      expect(single.output()).toMatch(/"slices":1/);
      expect(single.output()).not.toMatch(/"slices":3/);
    } finally {
      await single.destroy();
    }
  }, 300_000);
});
