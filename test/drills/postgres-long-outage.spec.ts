/**
 * Drill: PostgreSQL down for longer than the decision-log queue's old retry budget, while an
 * agent keeps shipping log batches.
 *
 * A batch the control plane acked is one it promised to store. The queue used to give a write
 * 8 attempts from a 1 s base (~127 s in all), after which acked batches sat in BullMQ's failed
 * set and never reached PostgreSQL. Here the retry base is 100 ms (STEPGATE_INGEST_RETRY_BASE),
 * so that old budget would be ~13 s, and PostgreSQL (a private cluster; the shared one is never
 * touched) stays down for 20 s: every acked record must still arrive, no job may fail or even
 * spend an attempt, and the control plane's metrics must show the records held meanwhile.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { createToken, ensureControlPlaneBuilt } from '../integration/control-plane/support.js';
import { connectAgent, record, type FakeAgent } from '../integration/agents/support.js';
import { crashLines, privatePostgres, sleep, type PrivatePostgres } from './support.js';

const RETRY_BASE_MS = 100;
/** attempts 8, exponential: base * (2^7 - 1). */
const OLD_BUDGET_MS = RETRY_BASE_MS * 127;
const OUTAGE_MS = 20_000;
const BATCHES = 12;
const RECORDS_PER_BATCH = 50;

let database: PrivatePostgres;
let cp: ControlPlaneProcess;
let agent: FakeAgent;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  database = await privatePostgres();
  await database.start();
  cp = await startControlPlane({
    DATABASE_URL: database.url('stepgate_long_outage'),
    STEPGATE_INGEST_RETRY_BASE: `${RETRY_BASE_MS}ms`,
    // The hold and recovery lines are at warn and info.
    STEPGATE_LOG_LEVEL: 'info',
  });
  const token = (await createToken(cp, 'long-outage-agent', ['agent'])).token;
  agent = await connectAgent(cp, { token, agentId: 'long-outage' });
  // The catch-up after connecting reads PostgreSQL; stopping it mid-way would (rightly) drop
  // the agent, which could then not reconnect until PostgreSQL is back.
  await waitFor(
    "the agent's catch-up",
    async () => (await metrics()).get('stepgate_agent_catch_ups_total{result="ok"}') === 1,
  );
}, 180_000);

afterAll(async () => {
  agent?.close();
  await cp?.destroy();
  await database?.destroy();
}, 60_000);

/** The decision ids stored, read straight from PostgreSQL. */
async function storedIds(): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: database.url('stepgate_long_outage') });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM decision_log');
    return new Set(rows.map((row) => row.id));
  } finally {
    await client.end();
  }
}

/** One sample of the control plane's metrics, by full series name (labels included). */
async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${cp.url}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n'))
    if (line.startsWith('stepgate_'))
      series.set(
        line.slice(0, line.lastIndexOf(' ')),
        Number(line.slice(line.lastIndexOf(' ') + 1)),
      );
  return series;
}

describe(`drill: PostgreSQL down ${OUTAGE_MS / 1000} s, past the old ${(OLD_BUDGET_MS / 1000).toFixed(1)} s retry budget`, () => {
  it('stores every acked record once PostgreSQL is back, spending no attempt', async () => {
    expect(OUTAGE_MS).toBeGreaterThan(OLD_BUDGET_MS * 1.5);
    const sent: string[] = [];
    const ship = async (batchId: string) => {
      const records = Array.from({ length: RECORDS_PER_BATCH }, () => record());
      expect(await agent.sendLogs({ batchId, records, dropped: 0 })).toEqual({ ok: true });
      sent.push(...records.map((r) => r.decisionId));
    };

    await ship('before');
    await waitFor('the first batch stored', async () => (await storedIds()).size === sent.length);

    await database.stop();
    const downAt = Date.now();
    // Batches acked during the outage: queued in Redis, so the agent forgets them.
    for (let i = 0; i < BATCHES; i++) {
      await ship(`during-${i}`);
      await sleep(OUTAGE_MS / BATCHES / 4);
    }
    await waitFor(
      'ingest to see the outage',
      async () => (await metrics()).get('stepgate_decision_log_database_up') === 0,
    );
    const remaining = OUTAGE_MS - (Date.now() - downAt);
    if (remaining > 0) await sleep(remaining);
    const during = await metrics();
    expect(during.get('stepgate_decision_log_database_up')).toBe(0);
    // Held by this replica (taken from the queue, not stored) plus still waiting in Redis.
    const held = during.get('stepgate_decision_logs_pending_records') ?? 0;
    const waitingBatches = during.get('stepgate_decision_log_queue_batches{state="waiting"}') ?? 0;
    expect(held + waitingBatches * RECORDS_PER_BATCH).toBe(BATCHES * RECORDS_PER_BATCH);
    expect(during.get('stepgate_decision_log_queue_batches{state="failed"}')).toBe(0);

    await database.start();
    await waitFor(
      'every acked record in PostgreSQL',
      async () => {
        const stored = await storedIds();
        return sent.every((id) => stored.has(id));
      },
      30_000,
      250,
    );
    const after = await metrics();
    expect(after.get('stepgate_decision_log_database_up')).toBe(1);
    expect(after.get('stepgate_decision_logs_pending_records')).toBe(0);
    expect(after.get('stepgate_decision_log_queue_batches{state="failed"}')).toBe(0);
    expect(after.get('stepgate_decision_logs_ingested_total')).toBe(sent.length);
    // Not one attempt spent on the outage (the old queue logged 7 failures per batch).
    expect(cp.output()).not.toContain('decision-log job failed');
    expect(cp.output()).toContain('PostgreSQL unreachable: decision-log writes are held');
    // Logged just after the commit the wait above saw.
    await waitFor('the recovery in the log', async () =>
      cp.output().includes('PostgreSQL is back: held decision logs stored'),
    );
  }, 120_000);

  it('the control plane did not exit or log a crash', () => {
    expect(crashLines(cp.output())).toEqual([]);
  });
});
