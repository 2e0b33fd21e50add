/**
 * Decision logs end to end: a real socket.io-client agent ships batches to the real control
 * plane, which queues them (BullMQ, Redis) and writes them to PostgreSQL; then the admin API
 * lists them with filters and a cursor, counts them (stats) and reports shadow divergence. The
 * numbers asserted are exactly those of the records sent.
 */
import type { DecisionRecord } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { createToken, ensureControlPlaneBuilt, metricValue } from '../control-plane/support.js';
import { agentTokenFor, connectAgent, getOk, reason, record, type FakeAgent } from './support.js';

let cp: ControlPlaneProcess;
let agentToken: string;
let viewer: string;
let agent: FakeAgent;
let other: FakeAgent;

const HOUR = 3600_000;
const now = Date.now();
/** The stats window: the last hour. Shadow records live 3 hours back, outside it. */
const statsFrom = new Date(now - HOUR).toISOString();
const statsTo = new Date(now + 60_000).toISOString();
const shadowFrom = new Date(now - 4 * HOUR).toISOString();
const shadowTo = new Date(now - 2 * HOUR).toISOString();

let seq = 0;
/** A record at a distinct time inside the stats window (newest last). */
function recent(overrides: Partial<DecisionRecord>): DecisionRecord {
  seq += 1;
  return record({
    at: new Date(now - HOUR / 2 + seq * 1000).toISOString(),
    revision: 4,
    ...overrides,
  });
}

const freeze = reason('prod', 'weekend-freeze', 'deny');
const noExport = reason('secrets', 'no-export', 'deny');
const freshMfa = reason('prod', 'fresh-mfa', 'step_up');
const approval = reason('prod', 'approval', 'step_up');
const apiRead = reason('api', 'read', 'allow');

/** 14 records: allow 3, deny 7 (one by fail mode), step_up 4. */
const statsBatch: DecisionRecord[] = [
  ...[1, 2, 3].map(() =>
    recent({
      principal: 'alice',
      action: 'api:read',
      resource: { kind: 'api', id: 'api/users' },
      reasons: [apiRead],
      revision: 3,
    }),
  ),
  ...[freeze, freeze, freeze, noExport].map((r) =>
    recent({ principal: 'bob', effect: 'deny', reasons: [r] }),
  ),
  ...[1, 2].map(() =>
    recent({
      principal: 'carol',
      effect: 'deny',
      reasons: [freeze],
      resource: { kind: 'environment', id: 'prod/web' },
    }),
  ),
  ...[1, 2, 3].map(() =>
    recent({
      principal: 'dave',
      effect: 'step_up',
      reasons: [freshMfa],
      require: { level: 'mfa', maxAge: 300 },
    }),
  ),
  recent({
    principal: 'erin',
    effect: 'step_up',
    action: 'terraform:apply',
    resource: { kind: 'workspace', id: 'prod/network' },
    reasons: [freshMfa, approval],
    require: { approvals: 1 },
    dataRevision: 12,
    signals: { failed_logins: 3, new_device: false, last_country: null },
    replay: { version: 1, evidence: { level: 'mfa', approvals: ['dave'] } },
  }),
  recent({
    principal: 'frank',
    effect: 'deny',
    failReason: 'no_bundle',
    revision: 0,
    action: 'secrets:read',
    resource: { kind: 'secret', id: 'vault/x' },
  }),
];

/** Shadow comparisons three hours ago: 12 compared, 6 divergent (one against shadow r6). */
let shadowSeq = 0;
function old(overrides: Partial<DecisionRecord>): DecisionRecord {
  shadowSeq += 1;
  return record({
    at: new Date(now - 3 * HOUR + shadowSeq * 1000).toISOString(),
    revision: 5,
    input: { principal: { id: 'p' }, action: 'x', context: { ip: '10.0.0.1' } },
    ...overrides,
  });
}
const newDeny = reason('api', 'new-deny', 'deny');
const oldDeny = reason('prod', 'old-deny', 'deny');
const deploy = reason('prod', 'deploy', 'allow');
const shadowBatch: DecisionRecord[] = [
  ...[1, 2, 3, 4, 5].map(() =>
    old({ reasons: [apiRead], shadow: { effect: 'allow', revision: 7, reasons: [apiRead] } }),
  ),
  ...[1, 2, 3].map(() =>
    old({
      reasons: [apiRead],
      shadow: { effect: 'deny', revision: 7, reasons: [apiRead, newDeny] },
    }),
  ),
  ...[1, 2].map(() =>
    old({
      effect: 'deny',
      reasons: [oldDeny],
      shadow: { effect: 'allow', revision: 7, reasons: [deploy] },
    }),
  ),
  old({
    effect: 'step_up',
    reasons: [freshMfa],
    shadow: { effect: 'step_up', revision: 7, reasons: [approval] },
  }),
  old({
    reasons: [apiRead],
    shadow: { effect: 'deny', revision: 6, reasons: [reason('api', 'other-deny', 'deny')] },
  }),
  // Not compared: no shadow evaluation.
  old({ effect: 'deny', reasons: [oldDeny] }),
];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  agentToken = (await createToken(cp, 'log-agent', ['agent'])).token;
  viewer = (await createToken(cp, 'auditor', ['viewer'])).token;
  agent = await connectAgent(cp, { token: agentToken, agentId: 'api-1' });
  // A token is one agent's identity: the second agent has its own.
  other = await connectAgent(cp, { token: await agentTokenFor(cp, 'db-1'), agentId: 'db-1' });
}, 360_000);

afterAll(async () => {
  agent?.close();
  other?.close();
  await cp?.destroy();
});

async function decisions(query: string): Promise<any> {
  return getOk(cp, viewer, `/v1/decisions?${query}`);
}

async function count(query: string): Promise<number> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: any = await decisions(`${query}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    for (const d of page.decisions) ids.add(d.decisionId);
    cursor = page.nextCursor;
  } while (cursor);
  return ids.size;
}

/** Ten hours back: outside both windows, inside the default 24 hours. */
function elsewhere(): string {
  seq += 1;
  return new Date(now - 10 * HOUR + seq * 1000).toISOString();
}

const inStats = `from=${encodeURIComponent(statsFrom)}&to=${encodeURIComponent(statsTo)}`;

describe('ingest', () => {
  it('acks a batch once queued and stores every record', async () => {
    expect(await agent.sendLogs({ batchId: 'stats-1', records: statsBatch, dropped: 0 })).toEqual({
      ok: true,
    });
    expect(await agent.sendLogs({ batchId: 'shadow-1', records: shadowBatch, dropped: 3 })).toEqual(
      { ok: true },
    );
    await waitFor('14 + 13 stored decisions', async () => (await count('')) === 27);
    const [stored] = (await decisions(`principal=erin&${inStats}`)).decisions;
    const sent = statsBatch.find((r) => r.principal === 'erin')!;
    expect(stored).toEqual({
      decisionId: sent.decisionId,
      at: sent.at,
      agentId: 'api-1',
      revision: 4,
      effect: 'step_up',
      failReason: null,
      principal: 'erin',
      action: 'terraform:apply',
      resource: { kind: 'workspace', id: 'prod/network' },
      require: { approvals: 1 },
      reasons: [freshMfa, approval],
      shadow: null,
      dataRevision: 12,
      signals: { failed_logins: 3, new_device: false, last_country: null },
      replay: { version: 1, evidence: { level: 'mfa', approvals: ['dave'] } },
      input: null,
      errors: 0,
      durationNs: 1200,
      receivedAt: expect.any(String),
    });
    // A record naming no live data and no signals shows null for both.
    const [plain] = (await decisions(`principal=frank&${inStats}`)).decisions;
    expect(plain).toMatchObject({ dataRevision: null, signals: null, replay: null });
    expect(await metricValue(cp.url, 'stepgate_decision_logs_ingested_total')).toBe(27);
    expect(await metricValue(cp.url, 'stepgate_decision_logs_dropped_by_agents_total')).toBe(3);
  });

  it('a re-sent batch is not ingested twice, nor are re-sent records in a new batch', async () => {
    expect(await agent.sendLogs({ batchId: 'stats-1', records: statsBatch, dropped: 0 })).toEqual({
      ok: true,
    });
    // Same records under another batch id: queued again, but every row is a duplicate.
    expect(await agent.sendLogs({ batchId: 'stats-1b', records: statsBatch, dropped: 0 })).toEqual({
      ok: true,
    });
    await waitFor(
      'the duplicate batch to be processed',
      async () => (await metricValue(cp.url, 'stepgate_decision_logs_duplicate_total')) === 14,
    );
    expect(await count('')).toBe(27);
    expect(await metricValue(cp.url, 'stepgate_decision_logs_ingested_total')).toBe(27);
  });

  it('refuses a malformed batch, and stores the valid records of a batch with a bad one', async () => {
    const bad = await agent.sendLogs({ batchId: '', records: [], dropped: 0 });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/invalid log batch: batchId/);

    const good = record({ principal: 'mixed-batch', at: elsewhere() });
    const mixed = await agent.sendLogs({
      batchId: 'mixed-1',
      records: [good, { ...record(), effect: 'maybe' } as unknown as DecisionRecord],
      dropped: 0,
    });
    expect(mixed.ok).toBe(true);
    expect(mixed.error).toMatch(/1 malformed record\(s\) refused, e.g. records\.1\.effect/);
    await waitFor('the valid record', async () => (await count('principal=mixed-batch')) === 1);
  });

  it('a record PostgreSQL refuses does not block its batch (NUL stripped, overflow dropped)', async () => {
    const nul = record({ principal: 'nul\u0000-principal', at: elsewhere() });
    const overflow = record({ principal: 'overflow', revision: 2 ** 31, at: elsewhere() });
    const fine = record({ principal: 'beside-poison', at: elsewhere() });
    expect(
      (await agent.sendLogs({ batchId: 'poison-1', records: [nul, overflow, fine], dropped: 0 }))
        .ok,
    ).toBe(true);
    await waitFor(
      'the storable records',
      async () => (await count('principal=beside-poison')) === 1,
    );
    expect(await count('principal=nul-principal')).toBe(1);
    expect(await count('principal=overflow')).toBe(0);
    expect(await metricValue(cp.url, 'stepgate_decision_logs_invalid_total')).toBe(2); // + mixed-1
  });

  it('records from another agent are attributed to it', async () => {
    const mine = [1, 2].map(() =>
      record({ principal: 'db-user', action: 'db:query', at: elsewhere() }),
    );
    expect((await other.sendLogs({ batchId: 'db-1', records: mine, dropped: 0 })).ok).toBe(true);
    await waitFor('db-1 records', async () => (await count('agent=db-1')) === 2);
    expect((await decisions('agent=db-1')).decisions.map((d: any) => d.principal)).toEqual([
      'db-user',
      'db-user',
    ]);
  });
});

describe('GET /v1/decisions', () => {
  it('lists newest first and filters by principal, action, resource, effect, revision, time', async () => {
    const all = (await decisions(`${inStats}&limit=100`)).decisions as any[];
    const times = all.map((d) => Date.parse(d.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    expect(await count(`${inStats}&principal=bob`)).toBe(4);
    expect(await count(`${inStats}&principal=ca*`)).toBe(2);
    expect(await count(`${inStats}&action=terraform:*`)).toBe(1);
    expect(await count(`${inStats}&action=deploy`)).toBe(9);
    expect(await count(`${inStats}&resource=prod/*`)).toBe(10);
    expect(await count(`${inStats}&resource=prod/web`)).toBe(2);
    expect(await count(`${inStats}&resourceKind=environment`)).toBe(9);
    expect(await count(`${inStats}&effect=step_up`)).toBe(4);
    expect(await count(`${inStats}&effect=deny&principal=bob`)).toBe(4);
    expect(await count(`${inStats}&revision=3`)).toBe(3);
    expect(await count(`${inStats}&agent=api-1`)).toBe(14);
    expect(await count(`${inStats}&agent=nobody`)).toBe(0);
    expect(
      await count(`from=${encodeURIComponent(shadowFrom)}&to=${encodeURIComponent(shadowTo)}`),
    ).toBe(13);
    const half = statsBatch[7]!.at; // first carol record
    expect(await count(`from=${encodeURIComponent(half)}&to=${encodeURIComponent(statsTo)}`)).toBe(
      7,
    );
  });

  it('pages with a cursor: every row exactly once', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await decisions(`${inStats}&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      sizes.push(page.decisions.length);
      seen.push(...page.decisions.map((d: any) => d.decisionId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([5, 5, 4]);
    expect(new Set(seen).size).toBe(14);
    expect(new Set(seen)).toEqual(new Set(statsBatch.map((r) => r.decisionId)));
  });

  it('answers 400 for bad queries and 403 without viewer/operator scope', async () => {
    for (const query of [
      'effect=maybe',
      'limit=0',
      'limit=5000',
      'from=yesterday',
      `from=${encodeURIComponent(statsTo)}&to=${encodeURIComponent(statsFrom)}`,
      'cursor=not-a-cursor',
      'unknown=1',
    ]) {
      const response = await api(cp.url, viewer, 'GET', `/v1/decisions?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error, query).toBe('request/invalid');
    }
    expect((await api(cp.url, agentToken, 'GET', '/v1/decisions')).status).toBe(403);
    expect((await api(cp.url, undefined, 'GET', '/v1/decisions/stats')).status).toBe(401);
  });
});

describe('GET /v1/decisions/stats', () => {
  it('counts by effect and ranks denied and stepped-up principals and rules', async () => {
    const stats = await getOk(cp, viewer, `/v1/decisions/stats?${inStats}`);
    expect(stats).toEqual({
      from: statsFrom,
      to: statsTo,
      total: 14,
      byEffect: { allow: 3, deny: 7, step_up: 4 },
      byFailReason: [{ reason: 'no_bundle', count: 1 }],
      topDeniedPrincipals: [
        { principal: 'bob', count: 4 },
        { principal: 'carol', count: 2 },
        { principal: 'frank', count: 1 },
      ],
      topSteppedUpPrincipals: [
        { principal: 'dave', count: 3 },
        { principal: 'erin', count: 1 },
      ],
      topDenyRules: [
        { rule: 'prod/weekend-freeze', count: 5 },
        { rule: 'secrets/no-export', count: 1 },
      ],
      topStepUpRules: [
        { rule: 'prod/fresh-mfa', count: 4 },
        { rule: 'prod/approval', count: 1 },
      ],
    });
  });

  it('defaults to the last 24 hours', async () => {
    const stats = await getOk(cp, viewer, '/v1/decisions/stats');
    // Everything sent is within 24 h: 14 + 13 shadow-era + 1 mixed + 2 poison + 2 db-1.
    expect(stats.total).toBe(32);
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(24 * HOUR);
  });
});

describe('GET /v1/shadow/report', () => {
  const window = `from=${encodeURIComponent(shadowFrom)}&to=${encodeURIComponent(shadowTo)}`;

  it('reports divergence: count, compared, effect pairs, rules and examples with input', async () => {
    const report = await getOk(cp, viewer, `/v1/shadow/report?${window}`);
    expect(report).toMatchObject({
      from: shadowFrom,
      to: shadowTo,
      shadow: null,
      compared: 12,
      divergent: 6,
      byEffect: [
        { from: 'allow', to: 'deny', count: 4 },
        { from: 'deny', to: 'allow', count: 2 },
      ],
      byRule: [
        { rule: 'api/new-deny', side: 'shadow', effect: 'deny', count: 3 },
        { rule: 'prod/deploy', side: 'shadow', effect: 'allow', count: 2 },
        { rule: 'prod/old-deny', side: 'active', effect: 'deny', count: 2 },
        { rule: 'api/other-deny', side: 'shadow', effect: 'deny', count: 1 },
        { rule: 'api/read', side: 'active', effect: 'allow', count: 1 },
      ],
    });
    expect(report.examples).toHaveLength(6);
    const divergentIds = shadowBatch
      .filter((r) => r.shadow && r.shadow.effect !== r.effect)
      .map((r) => r.decisionId);
    expect(new Set(report.examples.map((e: any) => e.decisionId))).toEqual(new Set(divergentIds));
    for (const example of report.examples) {
      expect(example.input).toEqual({
        principal: { id: 'p' },
        action: 'x',
        context: { ip: '10.0.0.1' },
      });
      expect(example.shadow.effect).not.toBe(example.effect);
    }
  });

  it('narrows to one shadow revision', async () => {
    const report = await getOk(cp, viewer, `/v1/shadow/report?${window}&shadowRevision=7`);
    expect(report).toMatchObject({
      compared: 11,
      divergent: 5,
      byEffect: [
        { from: 'allow', to: 'deny', count: 3 },
        { from: 'deny', to: 'allow', count: 2 },
      ],
    });
    expect(report.byRule.map((r: any) => r.rule)).not.toContain('api/other-deny');
  });

  it('is empty outside the window, and refuses bad queries', async () => {
    const report = await getOk(cp, viewer, `/v1/shadow/report?${inStats}`);
    expect(report).toMatchObject({
      compared: 0,
      divergent: 0,
      byEffect: [],
      byRule: [],
      examples: [],
    });
    expect((await api(cp.url, viewer, 'GET', '/v1/shadow/report?shadowRevision=x')).status).toBe(
      400,
    );
  });
});
