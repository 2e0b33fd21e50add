/**
 * Drill: PostgreSQL stopped for 30 s under a running control plane and two agents.
 *
 * The control plane runs on a PRIVATE PostgreSQL cluster (initdb + pg_ctl in a temp dir) that
 * this drill stops with `pg_ctl stop -m fast` and starts again; the shared PostgreSQL is never
 * touched. docs/architecture.md ("Failure behaviour"): PostgreSQL down, the admin API answers 503 and agents are unaffected. And, as for
 * every drill: no process exits, every decision the agents took reaches PostgreSQL afterwards,
 * and nothing needs a manual step to recover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, killAllAgents, removeTempDirs } from '../e2e/support.js';
import {
  activeRevisionOf,
  api,
  crashLines,
  decideNormally,
  privatePostgres,
  pushPolicy,
  sleep,
  startDrill,
  startTimeOf,
  taggedInput,
  waitFor,
  waitForDecisionsStored,
  type Drill,
  type PrivatePostgres,
} from './support.js';

const OUTAGE_MS = 30_000;

let pg: PrivatePostgres;
let drill: Drill;
let agents: AgentProcess[];
/** Decision ids each agent returned, to be found in PostgreSQL at the end. */
const decided = new Map<string, string[]>();

beforeAll(async () => {
  pg = await privatePostgres();
  await pg.start();
  drill = await startDrill({ DATABASE_URL: pg.url('stepgate_drill') });
  agents = await Promise.all(
    (['closed', 'open'] as const).map(async (mode) =>
      AgentProcess.start({
        name: `pg-${mode}`,
        url: drill.cp.url,
        token: await drill.tokenFor(`drill-pg-${mode}`),
        agentId: `drill-pg-${mode}`,
        env: { STEPGATE_FAIL_MODE: mode },
      }),
    ),
  );
  for (const agent of agents) decided.set(agent.agentId!, []);
  await waitFor('both agents on the seed revision', async () =>
    (await Promise.all(agents.map((a) => a.readyz()))).every(
      (r) => r.body.connected === true && r.body.revision === drill.revision,
    ),
  );
}, 180_000);

afterAll(async () => {
  await killAllAgents();
  await drill?.cp.destroy();
  await pg?.destroy();
  removeTempDirs();
}, 60_000);

/** An admin call with a deadline: a hang counts as an answer too (status 0). */
async function timed(method: string, path: string, body?: unknown) {
  const started = Date.now();
  try {
    const response = await fetch(`${drill.cp.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${drill.cp.adminToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text: the assertion shows it
    }
    return { path, status: response.status, body: parsed, ms: Date.now() - started };
  } catch (error) {
    return { path, status: 0, body: (error as Error).name, ms: Date.now() - started };
  }
}

const ADMIN_CALLS: [string, string, unknown?][] = [
  ['GET', '/v1/versions'],
  ['GET', '/v1/agents'],
  ['GET', '/v1/fleet'],
  ['GET', '/v1/decisions?limit=10'],
  ['GET', '/v1/audit'],
  ['POST', '/v1/rollback', { reason: 'drill: during the PostgreSQL outage' }],
  ['POST', '/v1/tokens', { name: 'drill-during-outage', scopes: ['viewer'] }],
];

describe('drill: PostgreSQL down for 30 s', () => {
  it('the admin API answers 503 JSON promptly, agents keep deciding, and everything recovers by itself', async () => {
    const startedAt = await startTimeOf(drill.cp);
    for (const agent of agents)
      decided.get(agent.agentId!)!.push(...(await decideNormally(agent, drill.revision)));

    await pg.stop();
    const downAt = Date.now();
    const answers: Awaited<ReturnType<typeof timed>>[] = [];
    const readyz: { status: number; database: unknown }[] = [];
    let rounds = 0;
    while (Date.now() - downAt < OUTAGE_MS) {
      rounds++;
      // Agents: unaffected, the normal answers from the bundle they hold, still connected.
      for (const agent of agents) {
        decided.get(agent.agentId!)!.push(...(await decideNormally(agent, drill.revision)));
        const ready = await agent.readyz();
        expect(ready.status, agent.name).toBe(200);
        expect(ready.body, agent.name).toMatchObject({ ready: true, connected: true });
      }
      answers.push(...(await Promise.all(ADMIN_CALLS.map(([m, p, b]) => timed(m, p, b)))));
      const ready = await timed('GET', '/readyz');
      readyz.push({ status: ready.status, database: ready.body?.checks?.database });
      expect((await timed('GET', '/healthz')).status).toBe(200);
      await sleep(1500);
    }
    expect(rounds).toBeGreaterThanOrEqual(5);

    // Every admin call in the outage: 503 with the error body, within a few seconds.
    const wrong = answers.filter(
      (a) => a.status !== 503 || a.body?.error !== 'service/unavailable' || a.ms > 5000,
    );
    expect(wrong, JSON.stringify(wrong.slice(0, 5))).toEqual([]);
    expect(answers[0]!.body.message).toMatch(/database/i);
    expect(readyz.every((r) => r.status === 503)).toBe(true);
    expect(readyz.at(-1)!.database).toMatchObject({ ok: false, error: expect.any(String) });

    // PostgreSQL back: the same process answers 200 again, with no restart.
    await pg.start();
    const backAt = Date.now();
    await waitFor(
      'the admin API to answer 200 again',
      async () => (await timed('GET', '/v1/versions')).status === 200,
      30_000,
      250,
    );
    const recoveredMs = Date.now() - backAt;
    await waitFor(
      '/readyz 200',
      async () => (await timed('GET', '/readyz')).status === 200,
      30_000,
      250,
    );
    expect(await startTimeOf(drill.cp)).toBe(startedAt);

    // Nothing done during the outage happened: no rollback, no token.
    const audit = await api(drill.cp.url, drill.cp.adminToken, 'GET', '/v1/audit');
    expect(JSON.stringify(audit.body)).not.toMatch(/during the PostgreSQL outage/);

    // A push after the outage is synced, activated and reaches both agents.
    const pushed = await pushPolicy(drill, 'after-pg-outage');
    expect(pushed.status, pushed.stderr).toBe(0);
    const revision = await activeRevisionOf(drill, pushed.sha);
    expect(revision).toBeGreaterThan(drill.revision);
    for (const agent of agents)
      await waitFor(`${agent.name} to enforce r${revision}`, async () => {
        const reply = await agent.decide(taggedInput('after-pg-outage'));
        return reply.body.effect === 'allow' && reply.body.revision === revision;
      });

    // Every decision taken before and during the outage is in PostgreSQL.
    const missing = await waitForDecisionsStored(drill, decided, 'the outage', 90_000, 1000);
    for (const [agentId, ids] of decided) {
      expect(ids.length, agentId).toBeGreaterThanOrEqual(3 * (rounds + 1));
      expect(missing[agentId], agentId).toBe(0);
    }
    console.log(
      `postgres drill: ${rounds} rounds, ${answers.length} admin calls answered 503 (slowest ${Math.max(...answers.map((a) => a.ms))} ms), admin API back ${recoveredMs} ms after PostgreSQL`,
    );
  }, 240_000);

  it('no process exited or logged a crash', () => {
    for (const agent of agents) {
      expect(agent.alive(), agent.name).toBe(true);
      expect(crashLines(agent.output()), agent.name).toEqual([]);
    }
    expect(crashLines(drill.cp.output())).toEqual([]);
  });
});
