/**
 * The decision and audit queries the web console reads (issue 15), on a real control plane
 * with its own PostgreSQL database: GET /v1/decisions?rule=, GET /v1/decisions/{id},
 * GET /v1/decisions/timeline and GET /v1/audit's filters and pages. Rows are written straight
 * into the suite's database (decision_log, audit_event) at chosen times, so every count below
 * is exact; the ingest path has its own suites (agents/decisions.spec.ts). Last, ~100k rows
 * check that the timeline and the rule filter read through an index.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  timelinePlan,
  timelineQuery,
} from '../../../apps/control-plane/src/decisions/decision-timeline.js';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt } from './support.js';

let cp: ControlPlaneProcess;
let db: pg.Client;
let viewer: string;
let operator: string;
let approver: string;

/** A whole UTC minute 30 minutes ago: the fixture decisions sit in the minutes after it. */
const T = Math.floor((Date.now() - 1800_000) / 60_000) * 60_000;
const at = (seconds: number) => new Date(T + seconds * 1000).toISOString();

type Effect = 'allow' | 'deny' | 'step_up';
const reason = (policy: string, rule: string, effect: Effect) => ({ policy, rule, effect });
const read = reason('docs', 'read', 'allow');
const secretMfa = reason('docs', 'secret-mfa', 'step_up');
const blockedIp = reason('risk', 'blocked-ip', 'deny');
const noBundle = reason('(agent)', 'fail_closed/no_bundle', 'deny');

interface Row {
  id: string;
  seconds: number;
  effect: Effect;
  reasons: ReturnType<typeof reason>[];
  extra?: Record<string, unknown>;
}

/** Minute 0: allow, step_up; minute 1: deny; minute 2: step_up, deny (fail mode). */
const ROWS: Row[] = [
  { id: 'd-1', seconds: 10, effect: 'allow', reasons: [read] },
  { id: 'd-2', seconds: 20, effect: 'step_up', reasons: [secretMfa] },
  { id: 'd-3', seconds: 70, effect: 'deny', reasons: [read, blockedIp] },
  { id: 'd-4', seconds: 130, effect: 'step_up', reasons: [secretMfa] },
  { id: 'd-5', seconds: 135, effect: 'deny', reasons: [noBundle] },
];

/** One decision with every column set, for the detail route. */
const FULL = {
  id: 'd-full',
  at: '2026-01-05T10:00:00.000Z',
  agentId: 'agent-7',
  revision: 4,
  effect: 'step_up',
  failReason: null,
  principal: 'alice',
  action: 'docs:read',
  resourceKind: 'doc',
  resourceId: 'secret/plan',
  require: { level: 'mfa' },
  reasons: [secretMfa],
  shadowEffect: 'deny',
  shadowRevision: 5,
  shadowReasons: [blockedIp],
  dataRevision: 3,
  signals: { failed_logins: 2, new_device: true },
  input: {
    principal: { id: 'alice' },
    action: 'docs:read',
    resource: { kind: 'doc', id: 'secret/plan' },
    context: { ip: '198.51.100.4' },
  },
  errors: 1,
  durationNs: 12345,
  replay: {
    version: 1,
    evidence: { level: 'mfa', amr: ['otp'], authTime: '2026-01-05T09:59:00.000Z' },
    masked: ['context.device'],
  },
};

async function insertDecision(row: Record<string, unknown>): Promise<void> {
  await db.query(
    `INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
                               resource_kind, resource_id, require, reasons, shadow_effect,
                               shadow_revision, shadow_reasons, data_revision, signals, input,
                               errors, duration_ns, replay)
     VALUES ($1, $2, $3, $4, $5::decision_effect, $6, $7, $8, $9, $10, $11, $12,
             $13::decision_effect, $14, $15, $16, $17, $18, $19, $20, $21)`,
    [
      row.id,
      row.at,
      row.agentId ?? 'agent-1',
      row.revision ?? 1,
      row.effect,
      row.failReason ?? null,
      row.principal ?? 'bob',
      row.action ?? 'docs:read',
      row.resourceKind ?? 'doc',
      row.resourceId ?? 'public/1',
      json(row.require),
      JSON.stringify(row.reasons),
      row.shadowEffect ?? null,
      row.shadowRevision ?? null,
      json(row.shadowReasons),
      row.dataRevision ?? null,
      json(row.signals),
      json(row.input),
      row.errors ?? 0,
      row.durationNs ?? 1000,
      json(row.replay),
    ],
  );
}

const json = (value: unknown) =>
  value === undefined || value === null ? null : JSON.stringify(value);

/** Audit events far from the ones the suite's own token creation writes (2025). */
const AUDIT = [
  { actor: 'alice', action: 'version.activate', at: '2025-03-01T10:00:00Z' },
  { actor: 'bob', action: 'version.rollback', at: '2025-03-01T10:01:00Z' },
  { actor: 'alice', action: 'token.create', at: '2025-03-01T10:02:00Z' },
  { actor: 'alice', action: 'version.activate', at: '2025-03-01T10:03:00Z' },
  { actor: 'carol', action: 'version.activate', at: '2025-03-01T10:04:00Z' },
  { actor: 'alice', action: 'version.shadow', at: '2025-03-01T10:05:00Z' },
];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await createToken(cp, 'console-viewer', ['viewer'])).token;
  operator = (await createToken(cp, 'console-operator', ['operator'])).token;
  approver = (await createToken(cp, 'console-approver', ['approver'])).token;
  db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  for (const row of ROWS)
    await insertDecision({
      id: row.id,
      at: at(row.seconds),
      effect: row.effect,
      reasons: row.reasons,
    });
  await insertDecision(FULL);
  for (const [index, event] of AUDIT.entries()) {
    await db.query(
      `INSERT INTO audit_event (id, at, actor, action, target, reason, details)
       VALUES ($1, $2, $3, $4, $5, NULL, $6)`,
      [
        `00000000-0000-4000-8000-00000000000${index}`,
        event.at,
        event.actor,
        event.action,
        `target-${index}`,
        JSON.stringify({ n: index }),
      ],
    );
  }
}, 120_000);

afterAll(async () => {
  await db?.end();
  await cp?.destroy();
});

const ids = (body: any) => body.decisions.map((d: { decisionId: string }) => d.decisionId);
const window = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(180))}`;

describe('GET /v1/decisions?rule=', () => {
  it('lists the decisions a rule matched in, newest first', async () => {
    const byRule = async (rule: string) => {
      const response = await api(
        cp.url,
        viewer,
        'GET',
        `/v1/decisions?${window}&rule=${encodeURIComponent(rule)}`,
      );
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return ids(response.body);
    };
    expect(await byRule('docs/secret-mfa')).toEqual(['d-4', 'd-2']);
    expect(await byRule('docs/read')).toEqual(['d-3', 'd-1']);
    expect(await byRule('risk/blocked-ip')).toEqual(['d-3']);
    expect(await byRule('(agent)/fail_closed/no_bundle')).toEqual(['d-5']);
    expect(await byRule('docs/*')).toEqual(['d-4', 'd-3', 'd-2', 'd-1']);
    expect(await byRule('docs/nothing')).toEqual([]);
    // The policy part must match too: "read" of another policy is not docs/read.
    expect(await byRule('risk/read')).toEqual([]);
  });

  it('combines with the other filters and pages with the cursor', async () => {
    const combined = await api(cp.url, viewer, 'GET', `/v1/decisions?rule=docs/*&effect=deny`);
    expect(ids(combined.body)).toEqual(['d-3']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await api(
        cp.url,
        operator,
        'GET',
        `/v1/decisions?${window}&rule=docs/*&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...ids(page.body));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['d-4', 'd-3', 'd-2', 'd-1']);
  });

  it('refuses a rule without its policy, or a prefix other than <policy>/*', async () => {
    for (const rule of ['read', 'docs/', 'docs/sec*', 'do*']) {
      const response = await api(cp.url, viewer, 'GET', `/v1/decisions?rule=${rule}`);
      expect(response.status, rule).toBe(400);
      expect(response.body).toMatchObject({ error: 'request/invalid' });
      expect(response.body.message).toMatch(/rule/);
    }
  });
});

describe('GET /v1/decisions/{id}', () => {
  it('answers everything the record holds', async () => {
    const response = await api(cp.url, viewer, 'GET', '/v1/decisions/d-full');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({
      decisionId: 'd-full',
      at: FULL.at,
      agentId: 'agent-7',
      revision: 4,
      effect: 'step_up',
      failReason: null,
      principal: 'alice',
      action: 'docs:read',
      resource: { kind: 'doc', id: 'secret/plan' },
      require: { level: 'mfa' },
      reasons: [secretMfa],
      shadow: { effect: 'deny', revision: 5, reasons: [blockedIp] },
      dataRevision: 3,
      signals: FULL.signals,
      replay: FULL.replay,
      input: FULL.input,
      errors: 1,
      durationNs: 12345,
    });
    expect(Date.parse(response.body.receivedAt)).not.toBeNaN();
  });

  it('404s an unknown id and 400s one that cannot be a decision id', async () => {
    const unknown = await api(cp.url, viewer, 'GET', '/v1/decisions/d-none');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'decision/not_found', message: expect.any(String) });

    const long = await api(cp.url, viewer, 'GET', `/v1/decisions/${'x'.repeat(65)}`);
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: 'request/invalid' });
    expect(long.body.message).toMatch(/decision id/);

    const control = await api(cp.url, viewer, 'GET', '/v1/decisions/a%01b');
    expect(control.status).toBe(400);
  });

  it('needs viewer or operator', async () => {
    expect((await api(cp.url, operator, 'GET', '/v1/decisions/d-full')).status).toBe(200);
    expect((await api(cp.url, approver, 'GET', '/v1/decisions/d-full')).status).toBe(403);
    expect((await api(cp.url, undefined, 'GET', '/v1/decisions/d-full')).status).toBe(401);
  });
});

describe('GET /v1/decisions/timeline', () => {
  const timeline = (query: string, token = viewer) =>
    api(cp.url, token, 'GET', `/v1/decisions/timeline?${query}`);
  const counts = (body: any) =>
    body.buckets.map((b: any) => [b.start, b.total, b.allow, b.deny, b.step_up]);

  it('counts decisions per bucket and effect, empty buckets included', async () => {
    const minutes = await timeline(`${window}&bucket=60`);
    expect(minutes.status, JSON.stringify(minutes.body)).toBe(200);
    expect(minutes.body).toMatchObject({ from: at(0), to: at(180), bucketSeconds: 60 });
    expect(counts(minutes.body)).toEqual([
      [at(0), 2, 1, 0, 1],
      [at(60), 1, 0, 1, 0],
      [at(120), 2, 0, 1, 1],
    ]);

    const twoMinutes = await timeline(`${window}&bucket=120`);
    // Buckets align on the epoch: T may sit inside a 120 s bucket.
    const aligned = Math.floor(T / 120_000) * 120_000;
    expect(twoMinutes.body.buckets[0].start).toBe(new Date(aligned).toISOString());
    expect(twoMinutes.body.buckets.reduce((sum: number, b: any) => sum + b.total, 0)).toBe(5);

    const longer = await timeline(
      `from=${encodeURIComponent(at(-300))}&to=${encodeURIComponent(at(300))}&bucket=60`,
    );
    expect(longer.body.buckets).toHaveLength(10);
    expect(longer.body.buckets.map((b: any) => b.total)).toEqual([0, 0, 0, 0, 0, 2, 1, 2, 0, 0]);
  });

  it('counts only inside [from, to) when they cut a bucket', async () => {
    const cut = await timeline(
      `from=${encodeURIComponent(at(15))}&to=${encodeURIComponent(at(131))}&bucket=60`,
    );
    expect(cut.status).toBe(200);
    expect(counts(cut.body)).toEqual([
      [at(0), 1, 0, 0, 1],
      [at(60), 1, 0, 1, 0],
      [at(120), 1, 0, 0, 1],
    ]);
  });

  it('defaults to the last hour in minutes', async () => {
    const response = await timeline('');
    expect(response.status).toBe(200);
    expect(response.body.bucketSeconds).toBe(60);
    expect(Date.parse(response.body.to) - Date.parse(response.body.from)).toBe(3600_000);
    // 60 minutes, plus one when "from" is not on a whole minute.
    expect([60, 61]).toContain(response.body.buckets.length);
    expect(response.body.buckets.reduce((sum: number, b: any) => sum + b.total, 0)).toBe(5);
  });

  it('refuses more than 1440 buckets and bad values with a 400 saying what to change', async () => {
    const tooMany = await timeline(`from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:01Z&bucket=60`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ error: 'request/invalid' });
    expect(tooMany.body.message).toMatch(/1441 buckets.*at most 1440.*larger bucket/);
    const day = await timeline(`from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&bucket=60`);
    expect(day.status).toBe(200);
    expect(day.body.buckets).toHaveLength(1440);

    for (const query of ['bucket=0', 'bucket=abc', 'from=yesterday', 'limit=5']) {
      const response = await timeline(query);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ error: 'request/invalid' });
    }
    const reversed = await timeline(
      `from=${encodeURIComponent(at(60))}&to=${encodeURIComponent(at(0))}`,
    );
    expect(reversed.status).toBe(400);
    expect((await timeline('', approver)).status).toBe(403);
  });
});

describe('GET /v1/audit', () => {
  const audit = (query: string) => api(cp.url, viewer, 'GET', `/v1/audit?${query}`);
  const actions = (body: any) => body.events.map((e: any) => `${e.actor} ${e.action}`);
  const in2025 = 'from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z';

  it('filters by action (exact or prefix), actor and time', async () => {
    expect(actions((await audit(`${in2025}&action=version.activate`)).body)).toEqual([
      'carol version.activate',
      'alice version.activate',
      'alice version.activate',
    ]);
    expect(actions((await audit(`${in2025}&action=version.*`)).body)).toEqual([
      'alice version.shadow',
      'carol version.activate',
      'alice version.activate',
      'bob version.rollback',
      'alice version.activate',
    ]);
    expect(actions((await audit(`${in2025}&actor=alice&action=version.*`)).body)).toEqual([
      'alice version.shadow',
      'alice version.activate',
      'alice version.activate',
    ]);
    expect(
      actions((await audit('from=2025-03-01T10:01:00Z&to=2025-03-01T10:03:00Z')).body),
    ).toEqual(['alice token.create', 'bob version.rollback']);
    expect(actions((await audit(`${in2025}&actor=b*`)).body)).toEqual(['bob version.rollback']);
    // Without a window: the token creations of the suite's set-up (now) come first.
    const years = (await audit('action=token.create')).body.events.map((e: any) =>
      e.at.slice(0, 4),
    );
    expect(years.length).toBeGreaterThanOrEqual(4);
    expect(years.at(-1)).toBe('2025');
    expect(years.slice(0, -1).every((year: string) => year !== '2025')).toBe(true);
  });

  it('pages newest first with nextCursor, and keeps the event shape', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: any } = await audit(
        `${in2025}&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.events.map((e: any) => e.target));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual(['target-5', 'target-4', 'target-3', 'target-2', 'target-1', 'target-0']);

    const first = (await audit(`${in2025}&limit=1`)).body;
    expect(first.events[0]).toEqual({
      id: '00000000-0000-4000-8000-000000000005',
      at: '2025-03-01T10:05:00.000Z',
      actor: 'alice',
      action: 'version.shadow',
      target: 'target-5',
      reason: null,
      details: { n: 5 },
    });
    expect(typeof first.nextCursor).toBe('string');
  });

  it('refuses a bad cursor, a bad time and an unknown filter', async () => {
    for (const query of ['cursor=nonsense', 'from=today', 'status=ready', 'limit=0']) {
      const response = await audit(query);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ error: 'request/invalid' });
    }
  });
});

describe('console queries read through an index (~100k decisions)', () => {
  it('the timeline and a rule-filtered page are not sequential scans of decision_log', async () => {
    // 100k decisions in 2020, one every 10 s (about 11.5 days); one in 1,000 matched a rare rule.
    await db.query(`
      INSERT INTO decision_log (id, at, agent_id, revision, effect, principal, action,
                                resource_kind, resource_id, reasons, duration_ns)
      SELECT 'bulk-' || n, TIMESTAMPTZ '2020-01-01 00:00:00+00' + n * interval '10 seconds',
             'bulk', 1, (ARRAY['allow', 'deny', 'step_up'])[1 + n % 3]::decision_effect,
             'p' || (n % 1000), 'a' || (n % 200), 'doc', 'x',
             CASE WHEN n % 1000 = 0
                  THEN '[{"policy": "bulk", "rule": "rare", "effect": "deny"}]'::jsonb
                  ELSE '[{"policy": "bulk", "rule": "common", "effect": "allow"}]'::jsonb END,
             1
      FROM generate_series(1, 100000) AS n`);
    await db.query('ANALYZE decision_log');

    const explain = async (text: string, values: unknown[]) =>
      (await db.query(`EXPLAIN ${text}`, values)).rows.map((row) => row['QUERY PLAN']).join('\n');

    const plan = timelinePlan({
      from: '2020-01-05T00:00:00Z',
      to: '2020-01-05T06:00:00Z',
      bucket: 60,
    });
    const query = timelineQuery(plan);
    const timelineText = await explain(query.text, query.values);
    expect(timelineText).not.toMatch(/Seq Scan on decision_log/);
    expect(timelineText).toMatch(/Index/);

    // The statement Prisma 7 sends for GET /v1/decisions?rule=bulk/rare (seen with its query
    // log): array_contains is jsonb containment plus a type check.
    const ruleText = await explain(
      `SELECT * FROM decision_log
       WHERE (reasons @> $1 AND JSONB_TYPEOF(reasons) = $2)
       ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4`,
      [JSON.stringify([{ policy: 'bulk', rule: 'rare' }]), 'array', 101, 0],
    );
    expect(ruleText).not.toMatch(/Seq Scan on decision_log/);
    expect(ruleText).toMatch(/decision_log_reasons_idx/);

    // And the route answers with the rare ones only, exactly.
    const rare = await api(cp.url, viewer, 'GET', '/v1/decisions?rule=bulk/rare&limit=1000');
    expect(rare.status).toBe(200);
    expect(rare.body.decisions).toHaveLength(100);
    expect(rare.body.nextCursor).toBeNull();
    const day = await api(
      cp.url,
      viewer,
      'GET',
      '/v1/decisions/timeline?from=2020-01-05T00:00:00Z&to=2020-01-06T00:00:00Z&bucket=3600',
    );
    expect(day.body.buckets).toHaveLength(24);
    // One decision every 10 s: 360 an hour, a third of each effect.
    for (const bucket of day.body.buckets)
      expect([bucket.total, bucket.allow, bucket.deny, bucket.step_up]).toEqual([
        360, 120, 120, 120,
      ]);
  }, 120_000);
});
