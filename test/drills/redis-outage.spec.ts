/**
 * Drill: Redis gone for 30 s under a running control plane and two agents, with a push and
 * decisions in the middle of it.
 *
 * The control plane runs on a PRIVATE redis-server (no persistence) which this drill SIGKILLs
 * and, 30 s later, starts again empty on the same port; the shared Redis is never touched.
 * docs/architecture.md ("Failure behaviour"): with Redis down, syncs wait in the queue and resume, and agents are unaffected. So: agents keep
 * deciding and stay connected; the push is accepted (or cleanly refused) and its version is
 * synced, activated and distributed once Redis is back, with no restart; the admin API keeps
 * answering; decision records the agents could not hand over while the log queue was gone are
 * kept by the agents and all reach PostgreSQL afterwards. (test/integration/control-plane/
 * redis-restart.spec.ts covers a short outage without agents.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, killAllAgents, removeTempDirs } from '../e2e/support.js';
import {
  listVersions,
  privateRedis,
  type PrivateRedis,
} from '../integration/control-plane/support.js';
import {
  activeRevisionOf,
  api,
  crashLines,
  decideNormally,
  pushPolicy,
  sleep,
  startDrill,
  startTimeOf,
  taggedInput,
  waitFor,
  waitForDecisionsStored,
  type Drill,
} from './support.js';

const OUTAGE_MS = 30_000;

let redis: PrivateRedis;
let drill: Drill;
let agents: AgentProcess[];
const decided = new Map<string, string[]>();

beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  drill = await startDrill({ REDIS_URL: redis.url });
  agents = await Promise.all(
    [1, 2].map(async (n) =>
      AgentProcess.start({
        name: `redis-${n}`,
        url: drill.cp.url,
        token: await drill.tokenFor(`drill-redis-${n}`),
        agentId: `drill-redis-${n}`,
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
  await redis?.kill();
  removeTempDirs();
}, 60_000);

describe('drill: Redis down for 30 s', () => {
  it('agents keep deciding, the push made meanwhile is synced and distributed after, and every decision arrives', async () => {
    const startedAt = await startTimeOf(drill.cp);
    for (const agent of agents)
      decided.get(agent.agentId!)!.push(...(await decideNormally(agent, drill.revision)));

    await redis.kill();
    const downAt = Date.now();
    let pushed: Awaited<ReturnType<typeof pushPolicy>> | undefined;
    let syncAsked: { status: number; ms: number } | undefined;
    let rounds = 0;
    const slowAdmin: string[] = [];
    while (Date.now() - downAt < OUTAGE_MS) {
      rounds++;
      for (const agent of agents) {
        decided.get(agent.agentId!)!.push(...(await decideNormally(agent, drill.revision)));
        const ready = await agent.readyz();
        expect(ready.body, agent.name).toMatchObject({ ready: true, connected: true });
      }
      // The admin API answers (from PostgreSQL) and promptly; /readyz says Redis is down.
      const asked = Date.now();
      const versions = await api(drill.cp.url, drill.cp.adminToken, 'GET', '/v1/versions');
      expect(versions.status).toBe(200);
      if (Date.now() - asked > 2000) slowAdmin.push(`GET /v1/versions ${Date.now() - asked} ms`);
      const readyz = await api(drill.cp.url, undefined, 'GET', '/readyz');
      if (Date.now() - downAt > 3000) {
        expect(readyz.status).toBe(503);
        expect(readyz.body.checks.redis.ok).toBe(false);
      }

      if (pushed === undefined && Date.now() - downAt > 3000) {
        // A git push in the middle of the outage: accepted (the ref is Git's, not Redis's).
        pushed = await pushPolicy(drill, 'during-redis-outage');
        expect(pushed.status, pushed.stderr).toBe(0);
        const started = Date.now();
        const sync = await fetch(`${drill.cp.url}/v1/sources/default/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${drill.cp.adminToken}` },
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        syncAsked = { status: sync?.status ?? 0, ms: Date.now() - started };
        if (sync) {
          const body = (await sync.json()) as { error?: string };
          if (sync.status === 503) expect(body.error).toBe('service/unavailable');
        }
      }
      await sleep(1000);
    }
    expect(rounds).toBeGreaterThanOrEqual(5);
    expect(slowAdmin).toEqual([]);
    expect(pushed).toBeDefined();
    // A sync asked for while Redis is down: queued or refused with a 503, never a hang.
    expect([202, 503], JSON.stringify(syncAsked)).toContain(syncAsked!.status);
    expect(syncAsked!.ms).toBeLessThan(5000);
    // Nothing could sync it yet.
    expect((await listVersions(drill.cp)).some((v) => v.sha === pushed!.sha)).toBe(false);

    // Redis back, empty, on the same port; nobody restarts the control plane.
    await redis.start();
    const backAt = Date.now();
    const revision = await activeRevisionOf(drill, pushed!.sha, 60_000);
    const activatedMs = Date.now() - backAt;
    expect(revision).toBeGreaterThan(drill.revision);
    await Promise.all(
      agents.map((agent) =>
        waitFor(`${agent.name} to enforce r${revision}`, async () => {
          const reply = await agent.decide(taggedInput('during-redis-outage'));
          return reply.body.effect === 'allow' && reply.body.revision === revision;
        }),
      ),
    );
    const convergedMs = Date.now() - backAt;
    await waitFor(
      '/readyz 200',
      async () => (await api(drill.cp.url, undefined, 'GET', '/readyz')).status === 200,
    );
    expect(await startTimeOf(drill.cp)).toBe(startedAt);

    // Every decision of the outage reaches PostgreSQL (agents back off up to 30 s between tries).
    const missing = await waitForDecisionsStored(drill, decided, 'the outage', 75_000, 1000);
    const deliveredMs = Date.now() - backAt;
    for (const [agentId, ids] of decided) {
      expect(ids.length, agentId).toBeGreaterThanOrEqual(3 * (rounds + 1));
      expect(missing[agentId], agentId).toBe(0);
    }
    console.log(
      `redis drill: sync during outage answered ${JSON.stringify(syncAsked)}; after Redis returned: version active ${activatedMs} ms, agents enforcing ${convergedMs} ms, all decisions in PostgreSQL ${deliveredMs} ms`,
    );
  }, 240_000);

  it('no process exited or logged a crash', () => {
    for (const agent of agents) {
      expect(agent.alive(), agent.name).toBe(true);
      expect(crashLines(agent.output()), agent.name).toEqual([]);
    }
    expect(crashLines(drill.cp.output())).toEqual([]);
    // The outage was reported as structured warnings, a few per connection, not per retry.
    const warnings = drill.cp
      .output()
      .split('\n')
      .filter((line) => line.includes('Redis unavailable'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThan(40);
    for (const line of warnings) expect(JSON.parse(line)).toMatchObject({ level: 40 });
  });
});
