/**
 * Replay (issue 14) on a real control plane with PostgreSQL and Redis: decision records come in
 * through the real ingest path (two socket.io agents shipping `logs` batches, queued and written
 * by the control plane), candidate versions are pushed to the embedded Git repository, and
 * POST /v1/versions/{ref}/replay runs as a BullMQ job whose report is read back with
 * GET /v1/replays/{id}. The counts asserted are exactly those of the records sent.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionRecord } from '@stepgate/protocol';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayPageQuery } from '../../../apps/control-plane/src/replay/replay-page-query.js';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { agentTokenFor, connectAgent, reason, record, type FakeAgent } from '../agents/support.js';
import { api, createToken, ensureControlPlaneBuilt, tempDirs, waitFor } from './support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';

const BASE = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["replay:read"] }
rules:
  - name: read
    effect: allow
`;
/** Stricter: secret documents need MFA, and an unmanaged device is refused. */
const STRICTER = `${BASE}  - name: secret-mfa
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
  - name: unmanaged-device
    effect: deny
    when: has(context.device) && context.device == "unmanaged"
`;
/** Looser than STRICTER: secret documents no longer need a step-up. */
const LOOSER = `${BASE}  - name: unmanaged-device
    effect: deny
    when: has(context.device) && context.device == "unmanaged"
`;

const temp = tempDirs();
let cp: ControlPlaneProcess;
let operator: string;
let viewer: string;
let agents: FakeAgent[] = [];
let stricter: number;
let looser: number;

const now = Date.now();
const since = new Date(now - 3600_000).toISOString();
const until = new Date(now + 3600_000).toISOString();
let seq = 0;

const read = reason('docs', 'read', 'allow');
const secretMfa = reason('docs', 'secret-mfa', 'step_up');

/** A record as a current agent writes it (input, replay part), inside the window. */
function decision(
  principal: string,
  resourceId: string,
  overrides: Partial<DecisionRecord> = {},
  context: Record<string, unknown> = { ip: '198.51.100.4' },
): DecisionRecord {
  seq += 1;
  return record({
    decisionId: randomUUID(),
    at: new Date(now - 1800_000 + seq * 1000).toISOString(),
    revision: 2,
    effect: 'allow',
    reasons: [read],
    principal,
    action: 'replay:read',
    resource: { kind: 'doc', id: resourceId },
    input: {
      principal: { id: principal },
      action: 'replay:read',
      resource: { kind: 'doc', id: resourceId },
      context,
    },
    replay: { version: 1 },
    signals: { failed_logins: 0, new_device: false },
    ...overrides,
  });
}

/** Allow before; the stricter candidate steps up (bob 2, carol 1). */
const toStepUp = [
  decision('bob', 'secret/plan'),
  decision('bob', 'secret/keys'),
  decision('carol', 'secret/plan'),
];
/** Unchanged by the stricter candidate: public documents, and a secret one read with MFA. */
const unchanged = [
  ...[1, 2, 3, 4].map((n) => decision('alice', `public/${n}`)),
  decision('alice', 'secret/plan', {
    replay: {
      version: 1,
      evidence: { level: 'mfa', amr: ['otp'], authTime: new Date(now - 1800_000).toISOString() },
    },
  }),
];
/** Stepped up by the stricter rule already: the looser candidate allows them (dave 2). */
const steppedUp = [1, 2].map(() =>
  decision('dave', 'secret/plan', {
    effect: 'step_up',
    revision: 3,
    reasons: [secretMfa],
    require: { level: 'mfa' },
  }),
);
/** Denied by the example's blocked-ip rule with the live data of its data revision (1). */
const blocked = decision(
  'erin',
  'public/1',
  { effect: 'deny', reasons: [reason('risk-step-up', 'blocked-ip', 'deny')], dataRevision: 1 },
  { ip: '203.0.113.7' },
);
/** Stepped up on the recorded signal value (the example's repeated-failed-logins). */
const failedLogins = decision('frank', 'public/1', {
  effect: 'step_up',
  reasons: [reason('risk-step-up', 'repeated-failed-logins', 'step_up')],
  require: { level: 'mfa' },
  signals: { failed_logins: 5, new_device: false },
});
/** Not replayable: written before replay, a masked field the candidate reads, fail mode. */
const { replay: _, ...before } = decision('gina', 'public/2');
const masked = decision('gina', 'public/3', {
  replay: { version: 1, masked: ['context.device'] },
});
const failMode = decision('gina', 'public/4', {
  effect: 'deny',
  failReason: 'no_bundle',
  reasons: [reason('(agent)', 'fail_closed/no_bundle', 'deny')],
});
const ALL = [
  ...toStepUp,
  ...unchanged,
  ...steppedUp,
  blocked,
  failedLogins,
  before,
  masked,
  failMode,
];

async function replay(
  ref: number,
  body: Record<string, unknown> = {},
  base = cp.url,
): Promise<any> {
  const started = await api(base, operator, 'POST', `/v1/versions/${ref}/replay`, {
    since,
    until,
    ...body,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  let done: any;
  await waitFor(
    `replay ${started.body.id} to end`,
    async () => {
      done = (await api(base, viewer, 'GET', `/v1/replays/${started.body.id}`)).body;
      return done.status !== 'queued' && done.status !== 'running';
    },
    60_000,
  );
  expect(done.status, JSON.stringify(done)).toBe('done');
  return done;
}

const counts = (groups: { count: number }[], key: string) =>
  Object.fromEntries(groups.map((g: any) => [g[key], g.count]));

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  operator = (await createToken(cp, 'replay-operator', ['operator'])).token;
  viewer = (await createToken(cp, 'replay-viewer', ['viewer'])).token;
  const work = temp.make('replay');
  await cloneEmbedded(cp, work);
  await pushPolicies(cp, work, { 'replay/docs.yaml': BASE }, 'replay: base');
  // Data revision 1: the range the blocked record's address is in.
  const written = await fetch(`${cp.url}/v1/data/blocked_ips`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${cp.adminToken}`,
      'content-type': 'application/json',
      'x-stepgate-reason': 'replay test',
    },
    body: JSON.stringify(['203.0.113.0/24']),
  });
  expect(written.status).toBe(200);
  // Data revision 2 unblocks it again: only a replay at revision 1 still denies.
  const cleared = await fetch(`${cp.url}/v1/data/blocked_ips`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${cp.adminToken}`,
      'content-type': 'application/json',
      'x-stepgate-reason': 'replay test',
    },
    body: JSON.stringify([]),
  });
  expect(cleared.status).toBe(200);

  for (const id of ['replay-a', 'replay-b'])
    agents.push(await connectAgent(cp, { token: await agentTokenFor(cp, id), agentId: id }));
  const half = Math.ceil(ALL.length / 2);
  expect(
    await agents[0]!.sendLogs({ batchId: 'a-1', records: ALL.slice(0, half), dropped: 0 }),
  ).toEqual({ ok: true });
  expect(
    await agents[1]!.sendLogs({ batchId: 'b-1', records: ALL.slice(half), dropped: 0 }),
  ).toEqual({ ok: true });
  await waitFor('the records stored', async () => {
    const listed = await api(
      cp.url,
      viewer,
      'GET',
      `/v1/decisions?limit=1000&from=${encodeURIComponent(since)}&to=${encodeURIComponent(until)}`,
    );
    return listed.body.decisions?.length === ALL.length;
  });
  stricter = (await pushPolicies(cp, work, { 'replay/docs.yaml': STRICTER }, 'replay: stricter'))
    .number;
  looser = (await pushPolicies(cp, work, { 'replay/docs.yaml': LOOSER }, 'replay: looser')).number;
}, 600_000);

afterAll(async () => {
  for (const agent of agents) agent.close();
  agents = [];
  await cp?.destroy();
  temp.cleanup();
});

describe('replay', () => {
  it('reports exactly the decisions a stricter candidate changes, by rule, principal and action', async () => {
    const done = await replay(stricter, { examples: 2 });
    const { result } = done;
    expect(result.totals, JSON.stringify(result.changes)).toEqual({
      records: ALL.length,
      replayed: ALL.length - 3,
      changed: 3,
      notReplayable: 3,
    });
    expect(done.progress).toEqual({ read: ALL.length, estimatedTotal: ALL.length });
    expect(counts(result.changes, 'change')).toEqual({ 'allow -> step_up': 3 });
    expect(result.byRule.map((g: any) => [g.policy, g.rule, g.count])).toEqual([
      ['docs', 'secret-mfa', 3],
    ]);
    expect(counts(result.byPrincipal, 'principal')).toEqual({ bob: 2, carol: 1 });
    expect(counts(result.byAction, 'action')).toEqual({ 'replay:read': 3 });
    const examples = result.changes[0].examples;
    expect(examples).toHaveLength(2);
    expect(toStepUp.map((r) => r.decisionId)).toContain(examples[0].decisionId);
    expect(examples[0]).toMatchObject({
      before: { effect: 'allow', require: null },
      after: {
        effect: 'step_up',
        require: { level: 'mfa' },
        reasons: [{ policy: 'docs', rule: 'secret-mfa', effect: 'step_up' }],
      },
    });
  });

  it('counts what it cannot replay faithfully, by reason, never dropping it', async () => {
    const { result } = await replay(stricter);
    expect(counts(result.notReplayable, 'reason')).toEqual({
      recorded_before_replay: 1,
      masked_input_read: 1,
      fail_mode: 1,
    });
    const maskedGroup = result.notReplayable.find((g: any) => g.reason === 'masked_input_read');
    expect(maskedGroup.examples[0]).toMatchObject({
      decisionId: masked.decisionId,
      masked: ['context.device'],
      after: null,
    });
    // The base version reads no masked field: only the old record and the fail mode remain.
    const base = await replay(stricter - 1);
    expect(counts(base.result.notReplayable, 'reason')).toEqual({
      recorded_before_replay: 1,
      fail_mode: 1,
    });
  });

  it('reports a loosening candidate: step-ups it would allow', async () => {
    const { result } = await replay(looser);
    expect(result.totals.changed, JSON.stringify(result.changes)).toBe(2);
    expect(counts(result.changes, 'change')).toEqual({ 'step_up -> allow': 2 });
    expect(result.byRule.map((g: any) => [g.policy, g.rule, g.count])).toEqual([
      ['docs', 'secret-mfa', 2],
    ]);
    expect(counts(result.byPrincipal, 'principal')).toEqual({ dave: 2 });
  });

  it('replays only the filtered principal', async () => {
    const { result } = await replay(stricter, { filter: { principal: 'bob' } });
    expect(result.totals).toEqual({ records: 2, replayed: 2, changed: 2, notReplayable: 0 });
  });

  it('answers 404 for an unknown replay and 400 for a bad window', async () => {
    const missing = await api(cp.url, viewer, 'GET', `/v1/replays/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('replay/not_found');
    const backwards = await api(cp.url, operator, 'POST', `/v1/versions/${stricter}/replay`, {
      since: until,
      until: since,
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.message).toContain('since must be before until');
  });

  it('cancels a queued replay: it never runs', async () => {
    const queue = new Queue('replay', {
      connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      prefix: cp.redisPrefix,
    });
    try {
      await queue.pause();
      const started = await api(cp.url, operator, 'POST', `/v1/versions/${stricter}/replay`, {
        since,
        until,
      });
      expect(started.status).toBe(202);
      const cancelled = await api(cp.url, operator, 'DELETE', `/v1/replays/${started.body.id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      await queue.resume();
      await new Promise((r) => setTimeout(r, 2000));
      const after = await api(cp.url, viewer, 'GET', `/v1/replays/${started.body.id}`);
      expect(after.body).toMatchObject({ status: 'cancelled', result: null });
      expect(after.body.progress.read).toBe(0);
    } finally {
      await queue.resume().catch(() => undefined);
      await queue.close();
    }
  });
});

let bulk: Promise<void> | undefined;

/**
 * 60,000 replayable records over the last 17 hours, spread over 1,000 principals and 200
 * actions (written straight to the table: enough for the planner to prefer an index, and for
 * a replay to take long enough to cancel). Once per run.
 */
function bulkRecords(): Promise<void> {
  bulk ??= (async () => {
    const client = new pg.Client({ connectionString: cp.databaseUrl });
    await client.connect();
    try {
      await client.query(`
        INSERT INTO decision_log (id, at, agent_id, revision, effect, principal, action,
                                  resource_kind, resource_id, reasons, duration_ns, replay, input)
        SELECT 'bulk-' || n, now() - (n || ' seconds')::interval, 'bulk', 1, 'allow',
               'p' || (n % 1000), 'a' || (n % 200), 'doc', 'x', '[]'::jsonb, 1,
               '{"version": 1}'::jsonb,
               jsonb_build_object('principal', jsonb_build_object('id', 'p' || (n % 1000)),
                                  'action', 'a' || (n % 200),
                                  'resource', jsonb_build_object('kind', 'doc', 'id', 'x'))
        FROM generate_series(1, 60000) AS n`);
      await client.query('ANALYZE decision_log');
    } finally {
      await client.end();
    }
  })();
  return bulk;
}

describe('replay reads through an index', () => {
  it('a filtered replay page is not a sequential scan of decision_log', async () => {
    await bulkRecords();
    const client = new pg.Client({ connectionString: cp.databaseUrl });
    await client.connect();
    try {
      const window = { since: new Date(now - 86400_000), until: new Date(now + 3600_000) };
      for (const filter of [{ principal: 'p7' }, { action: 'a7' }]) {
        const query = replayPageQuery({ ...window, filter }, null, 500);
        const plan = await client.query(`EXPLAIN ${query.text}`, query.values as unknown[]);
        const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(text, JSON.stringify(filter)).not.toMatch(/Seq Scan on decision_log/);
        expect(text).toMatch(/Index/);
      }
    } finally {
      await client.end();
    }
  });
});

describe('replay cancellation while running', () => {
  it('stops at the next page, keeps the partial report, and never becomes done', async () => {
    // A replay of 60k records takes a second or two: one that ends before the DELETE arrives
    // is not a cancellation, so try again (a few times at most).
    await bulkRecords();
    let caught: string | undefined;
    for (let attempt = 0; attempt < 5 && caught === undefined; attempt++) {
      const started = await api(cp.url, operator, 'POST', `/v1/versions/${stricter}/replay`, {
        since: new Date(now - 86400_000).toISOString(),
        until,
      });
      expect(started.status).toBe(202);
      const path = `/v1/replays/${started.body.id}`;
      await waitFor(
        'the replay to run',
        async () =>
          ['running', 'done'].includes((await api(cp.url, viewer, 'GET', path)).body.status),
        30_000,
        10,
      );
      const cancelled = await api(cp.url, operator, 'DELETE', path);
      if (cancelled.body.status === 'cancelled') caught = path;
    }
    expect(caught, 'every replay ended before its DELETE').toBeDefined();
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await api(cp.url, viewer, 'GET', caught!)).body;
    expect(after.status).toBe('cancelled');
    expect(after.progress.estimatedTotal).toBeGreaterThanOrEqual(60_000);
    expect(after.progress.read).toBeLessThan(after.progress.estimatedTotal);
    expect(after.result.totals.records).toBe(after.progress.read);
  });
});

// Last: it stops the first control plane.
describe('replay on any replica', () => {
  it('a second replica runs a replay alone, with the first one stopped', async () => {
    const replica = await startControlPlane({}, { replicaOf: cp });
    try {
      await cp.stop();
      const done = await replay(stricter, { filter: { principal: 'bob' } }, replica.url);
      expect(done.result.totals).toMatchObject({ changed: 2 });
      expect(counts(done.result.byPrincipal, 'principal')).toEqual({ bob: 2 });
    } finally {
      await replica.destroy();
    }
  }, 180_000);
});
