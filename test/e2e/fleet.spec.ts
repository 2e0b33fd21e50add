/**
 * End to end, all real: the control plane (PostgreSQL, Redis, embedded Git) and three agent
 * processes, each with its own port, cache dir, id and labels, authenticated by an agent-scoped
 * token. A git push, a rollback and a shadow version travel to all three; the control plane goes
 * away and comes back (decisions keep flowing, none of the buffered records is lost, a restarted
 * agent serves from its disk cache); the fail modes; two control-plane replicas.
 *
 * The tests run in order and share the fleet: each starts from where the previous one left it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  readText,
  waitForVersion,
  type Version,
} from '../integration/control-plane/support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import {
  AgentProcess,
  api,
  copyDir,
  decisionIdsOf,
  edit,
  exampleCase,
  freePort,
  getOk,
  killAllAgents,
  removeTempDirs,
  tamperJws,
  tempDir,
  untilAllDecide,
  waitFor,
} from './support.js';

// Inputs from the example policy tests (their `auth` dropped: the agent takes no evidence from
// the body). Independent of the time of day.
const ALLOW = exampleCase(
  'api/admin-step-up.test.yaml',
  'Staff changing ordinary API resources from home need no step-up',
);
const DENY = exampleCase(
  'default-deny.test.yaml',
  'An unknown database action is denied by default',
);
const STEP_UP = exampleCase(
  'api/admin-step-up.test.yaml',
  'An admin creating a user from a home network must step up to MFA',
);

/**
 * The change pushed: POST /api/orders joins the admin step-up target, so ALLOW (a staff member
 * posting an order from home) becomes a step-up; its test case says so too (else the version
 * would fail its tests and never be activated).
 */
const POLICY = 'api/admin-step-up.yaml';
const TESTS = 'api/admin-step-up.test.yaml';
function stepUpOrders(policy: string, tests: string): Record<string, string> {
  const caseName = 'Staff changing ordinary API resources from home need no step-up';
  const at = tests.indexOf(caseName);
  const expectation = 'expect: { effect: allow }';
  const end = tests.indexOf(expectation, at);
  if (at < 0 || end < 0) throw new Error(`${TESTS} changed: update the e2e suite`);
  return {
    [POLICY]: edit(
      policy,
      'resources: ["/admin", "/admin/**"]',
      'resources: ["/admin", "/admin/**", "/api/orders"]',
      POLICY,
    ),
    [TESTS]:
      tests.slice(0, end) +
      'expect: { effect: step_up, require: { level: mfa }, rule: api-admin-step-up/untrusted-network }' +
      tests.slice(end + expectation.length),
  };
}

let cp: ControlPlaneProcess;
let replica: ControlPlaneProcess | undefined;
let admin: string;
let agentToken: string;
let fleet: AgentProcess[];
let work: string;
let seed: Version;
let pushed: Version;
/** Active bundle revisions: seed, after the push, after the rollback. */
const rev = { seed: 0, pushed: 0, rolledBack: 0 };
const measured: Record<string, string> = {};
/** Decisions the agents took while the shadow version was set (test 4). */
const shadowPhase = { revision: 0, evaluated: 0, divergent: 0 };

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  cp = await startControlPlane();
  admin = cp.adminToken;
  agentToken = (await createToken(cp, 'e2e-fleet', ['agent'])).token;
  work = tempDir('clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, admin), work]);
  seed = await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active);
  // One token per agent: a token is bound to the agent id it connects as.
  fleet = await Promise.all(
    [1, 2, 3].map(async (n) =>
      AgentProcess.start({
        name: `agent-${n}`,
        url: cp.url,
        token: (await createToken(cp, `e2e-fleet-${n}`, ['agent'])).token,
        agentId: `e2e-agent-${n}`,
        labels: { zone: `z${n}`, tier: n === 3 ? 'edge' : 'core' },
      }),
    ),
  );
}, 300_000);

afterAll(async () => {
  await killAllAgents();
  await replica?.destroy();
  await cp?.destroy();
  removeTempDirs();
  if (Object.keys(measured).length > 0) console.log('e2e fleet measurements:', measured);
}, 60_000);

/** What each agent's /readyz says, in fleet order. */
async function readiness(agents = fleet): Promise<any[]> {
  return Promise.all(agents.map(async (a) => (await a.readyz()).body));
}

async function fleetView(on: ControlPlaneProcess = cp): Promise<any> {
  return getOk(on, admin, '/v1/fleet');
}

/** The fleet view converged on `revision` with exactly `connected` agents connected. */
async function waitConverged(revision: number, connected = 3, on = cp): Promise<any> {
  let view: any;
  await waitFor(
    `the fleet to converge on r${revision}`,
    async () => {
      view = await fleetView(on);
      return (
        view.converged === true &&
        view.activeRevision === revision &&
        view.agents.connected === connected
      );
    },
    20_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last view ${JSON.stringify(view)}`);
  });
  return view;
}

/** Rethrows with what the control plane and the agents say, for a failure far from its cause. */
async function diagnosed<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const facts = await Promise.allSettled([
      getOk(cp, admin, '/v1/versions?limit=10'),
      fleetView(),
      readiness(),
    ]);
    const tail = (text: string) => text.slice(-3000);
    throw new Error(
      [
        (error as Error).message,
        ...facts.map((f) => JSON.stringify(f.status === 'fulfilled' ? f.value : String(f.reason))),
        `control plane output:\n${tail(cp.output())}`,
        ...fleet.map((a) => `${a.name} output:\n${tail(a.output())}`),
      ].join('\n'),
    );
  }
}

async function pushEdit(files: Record<string, string>, message: string): Promise<string> {
  const sha = await commit(work, files, message);
  const push = await git(['push', 'origin', 'main'], work);
  if (push.status !== 0) throw new Error(`git push failed:\n${push.stderr}`);
  return sha;
}

describe('a fleet of three real agents on the real control plane', () => {
  it('1. all three converge on the seed revision and decide allow, deny and step_up with it', async () => {
    expect([ALLOW.effect, DENY.effect, STEP_UP.effect]).toEqual(['allow', 'deny', 'step_up']);
    const bundle = await getOk(cp, admin, '/v1/bundles/active');
    rev.seed = bundle.revision;
    expect(bundle.versionNumber).toBe(seed.number);

    await waitFor('every agent to hold the seed revision', async () =>
      (await readiness()).every((r) => r.revision === rev.seed && r.connected === true),
    );
    const view = await waitConverged(rev.seed);
    expect(view).toMatchObject({
      activeRevision: rev.seed,
      agents: { total: 3, connected: 3 },
      byRevision: [{ revision: rev.seed, count: 3 }],
      behind: [],
    });

    const rows = (await getOk(cp, admin, '/v1/agents')).agents as any[];
    expect(rows.map((r) => r.id).sort()).toEqual(['e2e-agent-1', 'e2e-agent-2', 'e2e-agent-3']);
    for (const [i, agent] of fleet.entries()) {
      const row = rows.find((r) => r.id === agent.agentId);
      expect(row).toMatchObject({
        status: 'connected',
        activeRevision: rev.seed,
        labels: { zone: `z${i + 1}`, tier: i === 2 ? 'edge' : 'core' },
      });
      expect(row.lastAckAt).not.toBeNull();
    }

    for (const agent of fleet) {
      for (const example of [ALLOW, DENY, STEP_UP]) {
        const reply = await agent.decide(example.input);
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({ effect: example.effect, revision: rev.seed });
        expect(reply.body.failReason).toBeUndefined();
        expect(reply.body.decisionId).toEqual(expect.any(String));
      }
      expect((await agent.decide(STEP_UP.input)).body.require).toMatchObject({ level: 'mfa' });
    }
  });

  it('2. a git push reaches all three: new revision, new effect, fleet converged', async () => {
    const files = stepUpOrders(readText(work, POLICY), readText(work, TESTS));
    const started = performance.now();
    const sha = await diagnosed(pushEdit(files, 'Orders posted from outside the office need MFA'));
    const pushReturned = performance.now() - started;
    const [{ ms, bodies }, version] = await diagnosed(
      Promise.all([
        untilAllDecide(fleet, ALLOW.input, (b) => b.revision > rev.seed, started, 45_000),
        waitForVersion(cp, sha, (v) => v.status !== 'ready' || v.active, 45_000),
      ]),
    );
    pushed = version;
    rev.pushed = bodies[0].revision;
    for (const body of bodies)
      expect(body).toMatchObject({ effect: 'step_up', revision: rev.pushed });
    expect(pushed).toMatchObject({ status: 'ready', active: true, tests: { failed: 0 } });
    expect(pushed.number).toBeGreaterThan(seed.number);
    const bundle = await getOk(cp, admin, '/v1/bundles/active');
    expect(bundle).toMatchObject({ revision: rev.pushed, versionNumber: pushed.number });

    // Only the edited case changed.
    for (const agent of fleet) {
      expect((await agent.decide(DENY.input)).body).toMatchObject({
        effect: 'deny',
        revision: rev.pushed,
      });
      expect((await agent.decide(STEP_UP.input)).body).toMatchObject({
        effect: 'step_up',
        revision: rev.pushed,
      });
    }
    const view = await waitConverged(rev.pushed);
    expect(view.byRevision).toEqual([{ revision: rev.pushed, count: 3 }]);
    expect(view.propagation.seconds).toBeGreaterThanOrEqual(0);
    measured['push -> git push returned (ms)'] = pushReturned.toFixed(0);
    measured['push -> all 3 agents decide with the new revision (ms)'] = Math.max(...ms).toFixed(0);
    measured['push: per agent (ms)'] = ms.map((m) => m.toFixed(0)).join(', ');
    measured['push: activation -> last ack (fleet view, s)'] = String(view.propagation.seconds);
  }, 120_000);

  it('3. a rollback brings all three back to the old effect with a new revision, audited', async () => {
    const reason = 'e2e: orders step-up breaks the shop';
    const started = performance.now();
    const response = await api(cp.url, admin, 'POST', '/v1/rollback', { reason });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      activeVersion: { number: seed.number, active: true },
      from: { number: pushed.number },
    });
    rev.rolledBack = response.body.revision;
    expect(rev.rolledBack).toBeGreaterThan(rev.pushed);

    const { ms, bodies } = await untilAllDecide(
      fleet,
      ALLOW.input,
      (b) => b.revision === rev.rolledBack,
      started,
    );
    for (const body of bodies) expect(body.effect).toBe('allow');
    for (const agent of fleet)
      expect((await agent.decide(STEP_UP.input)).body).toMatchObject({
        effect: 'step_up',
        revision: rev.rolledBack,
      });

    const bundle = await getOk(cp, admin, '/v1/bundles/active');
    expect(bundle).toMatchObject({ revision: rev.rolledBack, versionNumber: seed.number });
    const audit = await getOk(cp, admin, '/v1/audit?action=version.rollback&limit=50');
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      action: 'version.rollback',
      target: seed.id,
      reason,
      details: { revision: rev.rolledBack, from: pushed.id, to: seed.id },
    });
    await waitConverged(rev.rolledBack);
    measured['rollback -> all 3 agents decide with the new revision (ms)'] = Math.max(
      ...ms,
    ).toFixed(0);
  }, 45_000);

  it('4. a shadow version is evaluated beside the active one, reported, and cleared', async () => {
    const set = await api(cp.url, admin, 'POST', `/v1/versions/${pushed.number}/shadow`, {
      reason: 'e2e: try the orders step-up in shadow',
    });
    expect(set.status).toBe(200);
    const shadowRevision = set.body.revision as number;
    await waitFor('every agent to hold the shadow', async () =>
      (await readiness()).every((r) => r.shadowRevision === shadowRevision),
    );

    const divergent: string[] = [];
    shadowPhase.revision = shadowRevision;
    for (const agent of fleet) {
      const allow = (await agent.decide(ALLOW.input)).body;
      // Enforced: the active version; beside it, what the shadow would have said.
      expect(allow).toMatchObject({
        effect: 'allow',
        revision: rev.rolledBack,
        shadow: { effect: 'step_up', revision: shadowRevision },
      });
      divergent.push(allow.decisionId);
      const deny = (await agent.decide(DENY.input)).body;
      expect(deny).toMatchObject({ effect: 'deny', revision: rev.rolledBack });
      expect(deny.shadow).toBeUndefined(); // same effect: no divergence
    }
    shadowPhase.evaluated = 2 * fleet.length;
    shadowPhase.divergent = divergent.length;

    let report: any;
    await waitFor('the divergences in the shadow report', async () => {
      report = await getOk(cp, admin, `/v1/shadow/report?shadowRevision=${shadowRevision}`);
      return report.divergent >= divergent.length;
    });
    expect(report).toMatchObject({
      shadow: { revision: shadowRevision, versionNumber: pushed.number },
      divergent: divergent.length,
      byEffect: [{ from: 'allow', to: 'step_up', count: divergent.length }],
    });
    expect(report.byRule).toContainEqual(
      expect.objectContaining({
        rule: 'api-admin-step-up/untrusted-network',
        side: 'shadow',
        effect: 'step_up',
      }),
    );
    expect(report.examples.map((e: any) => e.decisionId).sort()).toEqual([...divergent].sort());
    // Each agent's own record says which agent and what the shadow said.
    for (const [i, agent] of fleet.entries()) {
      const mine = await decisionIdsOf(cp, admin, agent.agentId!);
      expect(mine.get(divergent[i]!)).toMatchObject({
        agentId: agent.agentId,
        effect: 'allow',
        revision: rev.rolledBack,
        shadow: { effect: 'step_up', revision: shadowRevision },
      });
    }

    const clear = await api(cp.url, admin, 'DELETE', '/v1/shadow', { reason: 'e2e: seen enough' });
    expect(clear.status).toBe(200);
    await waitFor('every agent to drop the shadow', async () =>
      (await readiness()).every((r) => r.shadowRevision === undefined),
    );
    for (const agent of fleet) {
      const allow = (await agent.decide(ALLOW.input)).body;
      expect(allow).toMatchObject({ effect: 'allow', revision: rev.rolledBack });
      expect(allow.shadow).toBeUndefined();
    }
    expect((await getOk(cp, admin, '/v1/shadow/report')).shadow).toBeNull();
    expect((await fleetView()).shadowRevision).toBeNull();
  }, 45_000);

  // PRODUCT BUG (reported): agents log a shadow evaluation only where it differs from the active
  // one (agent-core DecisionPoint.decideShadow returns undefined on agreement, so the record has
  // no `shadow`), while the report counts `compared` as the records that carry one. With real
  // agents `compared` always equals `divergent`: every shadow run reads as 100 % divergent.
  it('4b. the shadow report counts every decision evaluated against the shadow as compared', async () => {
    expect(shadowPhase.evaluated).toBeGreaterThan(0);
    const report = await getOk(
      cp,
      admin,
      `/v1/shadow/report?shadowRevision=${shadowPhase.revision}`,
    );
    expect(report.divergent).toBe(shadowPhase.divergent);
    expect(report.compared).toBe(shadowPhase.evaluated);
  });

  it('5. control plane down: agents keep deciding and buffer, a restarted agent serves from its disk cache, and every buffered record arrives', async () => {
    await cp.stop();
    const downAt = performance.now();
    // Whatever fails during the outage, the later tests get the control plane and agent 3 back.
    const restarted = fleet[2]!;
    let beforeRestart: string[] = [];
    /** Decision ids the control plane must eventually hold, per agent. */
    const expected = new Map<string, string[]>(fleet.map((a) => [a.agentId!, []]));
    try {
      await waitFor('every agent to notice', async () =>
        (await readiness()).every((r) => r.connected === false),
      );

      const decideAll = async (agents: AgentProcess[], rounds: number) => {
        for (const agent of agents)
          for (let i = 0; i < rounds; i++)
            for (const example of [ALLOW, DENY, STEP_UP]) {
              const reply = await agent.decide(example.input);
              expect(reply.status).toBe(200);
              expect(reply.body).toMatchObject({
                effect: example.effect,
                revision: rev.rolledBack,
              });
              expect(reply.body.failReason).toBeUndefined();
              expected.get(agent.agentId!)!.push(reply.body.decisionId);
            }
      };
      await decideAll(fleet, 10);
      for (const agent of fleet)
        expect(await agent.metric('stepgate_agent_log_buffer_records')).toBeGreaterThanOrEqual(30);

      // Restart agent 3 while the control plane is down. What it buffered is held in memory only,
      // so its records from before the restart are set aside (reported, not required).
      beforeRestart = expected.get(restarted.agentId!)!.splice(0);
      const buffered = await restarted.metric('stepgate_agent_log_buffer_records');
      await restarted.stop();
      // It says on the way out how many records it could not ship.
      const stopped = restarted
        .output()
        .split('\n')
        .filter((line) => line.includes('"agent stopped"'))
        .map((line) => JSON.parse(line) as { unshipped: number })
        .at(-1);
      expect(stopped?.unshipped).toBe(buffered);
      expect(buffered).toBeGreaterThanOrEqual(beforeRestart.length);
      const restartedAt = performance.now();
      await restarted.start();
      const fromCache = (await restarted.readyz()).body;
      expect(fromCache).toMatchObject({
        status: 'ready',
        ready: true,
        connected: false,
        revision: rev.rolledBack,
      });
      expect(fromCache.failReason).toBeUndefined();
      measured['agent restart with the control plane down -> ready from disk cache (ms)'] = (
        performance.now() - restartedAt
      ).toFixed(0);
      await decideAll([restarted], 10);
      await decideAll(fleet.slice(0, 2), 2);
    } finally {
      if (!restarted.alive()) await restarted.start();
      await cp.restart();
    }
    measured['control plane down (ms)'] = (performance.now() - downAt).toFixed(0);
    const backAt = performance.now();
    await waitFor(
      'every agent to reconnect',
      async () => (await readiness()).every((r) => r.connected === true),
      45_000,
    );
    measured['control plane back -> all agents reconnected (ms)'] = (
      performance.now() - backAt
    ).toFixed(0);
    await waitConverged(rev.rolledBack);

    const missing: Record<string, number> = {};
    await waitFor(
      'every record decided during the outage in GET /v1/decisions',
      async () => {
        let complete = true;
        for (const [agentId, ids] of expected) {
          const held = await decisionIdsOf(cp, admin, agentId);
          missing[agentId] = ids.filter((id) => !held.has(id)).length;
          if (missing[agentId] > 0) complete = false;
        }
        return complete;
      },
      45_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; missing per agent: ${JSON.stringify(missing)}`);
    });
    for (const [agentId, ids] of expected) {
      expect(new Set(ids).size, agentId).toBe(ids.length);
      expect(missing[agentId], agentId).toBe(0);
      const held = await decisionIdsOf(cp, admin, agentId);
      for (const id of ids) expect(held.get(id)?.revision).toBe(rev.rolledBack);
    }
    expect(expected.get('e2e-agent-1')).toHaveLength(36);
    expect(expected.get('e2e-agent-3')).toHaveLength(30);
    const heldByRestarted = await decisionIdsOf(cp, admin, restarted.agentId!);
    measured['records of the restarted agent from before its restart that arrived'] =
      `${beforeRestart.filter((id) => heldByRestarted.has(id)).length} of ${beforeRestart.length}`;
  }, 120_000);

  it('6a. no bundle and no control plane: closed denies (no_bundle, /readyz 503), open allows', async () => {
    const closedPort = await freePort();
    const unreachable = `http://127.0.0.1:${closedPort}`;
    const [closed, open] = await Promise.all([
      AgentProcess.start({ name: 'no-bundle-closed', url: unreachable, token: agentToken }),
      AgentProcess.start({
        name: 'no-bundle-open',
        url: unreachable,
        token: agentToken,
        env: { STEPGATE_FAIL_MODE: 'open' },
      }),
    ]);
    const denied = await closed.decide(ALLOW.input);
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ effect: 'deny', failReason: 'no_bundle', revision: 0 });
    expect(denied.body.reasons[0].rule).toBe('fail_closed/no_bundle');
    const notReady = await closed.readyz();
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ ready: false, failReason: 'no_bundle' });

    const allowed = await open.decide(DENY.input);
    expect(allowed.body).toMatchObject({ effect: 'allow', failReason: 'no_bundle' });
    expect(allowed.body.reasons[0].rule).toBe('fail_open/no_bundle');
    expect((await open.readyz()).status).toBe(200);
    await Promise.all([closed.stop(), open.stop()]);
  });

  it('6b. a cached bundle older than max staleness with the control plane unreachable: stale_bundle', async () => {
    // A fresh, valid cache: agent 1 saves its sync time when it stops while connected.
    const source = fleet[0]!;
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    await source.stop();
    const cacheCopy = copyDir(source.cacheDir, 'stale');
    const syncedAt = Date.parse(
      JSON.parse(readFileSync(join(cacheCopy, 'sync-state.json'), 'utf8')).syncedAt,
    );
    expect(Date.now() - syncedAt).toBeLessThan(10_000);
    await source.start();

    /**
     * Starts an agent on the cache, synced "now" as far as it knows, with this max staleness,
     * and asks it until it goes stale. Each answer is judged by when it was asked and answered
     * relative to that sync time, never by how many fit in a window.
     */
    const runStale = async (maxStalenessMs: number) => {
      const freshAt = Date.now();
      writeFileSync(
        join(cacheCopy, 'sync-state.json'),
        JSON.stringify({ syncedAt: new Date(freshAt).toISOString() }),
      );
      const stale = await AgentProcess.start({
        name: 'stale',
        url: unreachable,
        token: agentToken,
        agentId: 'e2e-stale',
        cacheDir: cacheCopy,
        env: { STEPGATE_MAX_STALENESS: `${maxStalenessMs / 1000}s` },
      });
      const answers: { at: number; done: number; body: any }[] = [];
      await waitFor(
        'a stale_bundle decision',
        async () => {
          const at = Date.now() - freshAt;
          const body = (await stale.decide(ALLOW.input)).body;
          answers.push({ at, done: Date.now() - freshAt, body });
          return body.failReason === 'stale_bundle';
        },
        maxStalenessMs + 30_000,
        100,
      );
      const notReady = await stale.readyz();
      await stale.stop();
      return { answers, notReady };
    };
    // The cache can only be seen serving if the agent answers before max staleness has passed:
    // a machine too loaded for that gets a longer max staleness, not a failure.
    let run = await runStale(2000);
    let maxStalenessMs = 2000;
    for (const longer of [8000, 20_000]) {
      if (run.answers[0]!.done <= maxStalenessMs) break;
      maxStalenessMs = longer;
      run = await runStale(longer);
    }
    const { answers, notReady } = run;

    // Answered before max staleness had passed since the sync: the cache served.
    const cached = answers.filter((a) => a.done <= maxStalenessMs);
    expect(cached.length).toBeGreaterThan(0);
    for (const { body } of cached) {
      expect(body).toMatchObject({ effect: 'allow', revision: rev.rolledBack });
      expect(body.failReason).toBeUndefined();
    }
    // Asked after it had passed: the fail mode, and from the first stale answer on, only that.
    const firstStale = answers.findIndex((a) => a.body.failReason === 'stale_bundle');
    expect(firstStale).toBeGreaterThanOrEqual(cached.length);
    for (const { at, body } of answers)
      if (at > maxStalenessMs) expect(body.failReason).toBe('stale_bundle');
    for (const { body } of answers.slice(firstStale)) {
      expect(body).toMatchObject({ effect: 'deny', revision: rev.rolledBack });
      expect(body.reasons[0].rule).toBe('fail_closed/stale_bundle');
    }
    expect(notReady.status).toBe(503);
    expect(notReady.body.failReason).toBe('stale_bundle');
    // Agent 1 is back in the fleet.
    await waitConverged(rev.rolledBack);
  }, 180_000);

  it('6c. a tampered cached bundle (payload or signature) is refused on start; the fail mode applies', async () => {
    const source = fleet[1]!;
    await source.stop();
    const payloadCopy = copyDir(source.cacheDir, 'tampered-payload');
    const signatureCopy = copyDir(source.cacheDir, 'tampered-signature');
    const intactCopy = copyDir(source.cacheDir, 'intact');
    await source.start();
    for (const [dir, part] of [
      [payloadCopy, 1],
      [signatureCopy, 2],
    ] as const) {
      const file = join(dir, 'active.bundle.jws');
      const jws = readFileSync(file, 'utf8');
      writeFileSync(file, tamperJws(jws, part));
      expect(readFileSync(file, 'utf8')).not.toBe(jws);
    }
    const url = `http://127.0.0.1:${await freePort()}`;
    const [payload, signature, intact] = await Promise.all([
      AgentProcess.start({
        name: 'tampered-payload',
        url,
        token: agentToken,
        cacheDir: payloadCopy,
      }),
      AgentProcess.start({
        name: 'tampered-signature',
        url,
        token: agentToken,
        cacheDir: signatureCopy,
        env: { STEPGATE_FAIL_MODE: 'open' },
      }),
      AgentProcess.start({ name: 'intact', url, token: agentToken, cacheDir: intactCopy }),
    ]);

    // The control: the same cache untouched is used.
    expect((await intact.decide(ALLOW.input)).body).toMatchObject({
      effect: 'allow',
      revision: rev.rolledBack,
    });
    const closed = await payload.decide(ALLOW.input);
    expect(closed.body).toMatchObject({ effect: 'deny', failReason: 'no_bundle', revision: 0 });
    expect((await payload.readyz()).status).toBe(503);
    const opened = await signature.decide(DENY.input);
    expect(opened.body).toMatchObject({ effect: 'allow', failReason: 'no_bundle', revision: 0 });
    for (const agent of [payload, signature])
      expect(agent.output()).toMatch(/cached active bundle refused/);
    expect(intact.output()).not.toMatch(/cached active bundle refused/);
    await Promise.all([payload.stop(), signature.stop(), intact.stop()]);
    await waitConverged(rev.rolledBack);
  }, 45_000);

  it('7. two replicas on one database and Redis: an activation on either reaches agents on both', async () => {
    replica = await startControlPlane({}, { replicaOf: cp });
    // Agent 3 moves to the replica (same cache, id and port).
    const moved = fleet[2]!;
    await moved.stop();
    moved.env = { ...moved.env, STEPGATE_URL: replica.url };
    await moved.start();
    await waitFor(
      'agent 3 connected to the replica',
      async () => (await moved.readyz()).body.connected,
    );
    await waitConverged(rev.rolledBack, 3, replica);
    // Split: agents 1 and 2 on the first control plane, agent 3 on the replica.
    await waitFor('each control plane to count its own agents', async () => {
      const [first, second] = await Promise.all(
        [cp, replica!].map(async (on) => (await api(on.url, undefined, 'GET', '/metrics')).body),
      );
      return (
        /^stepgate_agents_connected 2$/m.test(first as string) &&
        /^stepgate_agents_connected 1$/m.test(second as string)
      );
    });

    // Activated on the first control plane: reaches agent 3 on the replica.
    let started = performance.now();
    const onFirst = await api(cp.url, admin, 'POST', `/v1/versions/${pushed.number}/activate`, {
      reason: 'e2e: activation on replica A',
    });
    expect(onFirst.status).toBe(200);
    const revA = onFirst.body.revision as number;
    let { ms, bodies } = await untilAllDecide(
      fleet,
      ALLOW.input,
      (b) => b.revision === revA,
      started,
    );
    for (const body of bodies) expect(body.effect).toBe('step_up');
    measured['replicas: activation on A -> all 3 agents (ms)'] = Math.max(...ms).toFixed(0);
    await waitConverged(revA, 3, replica);

    // Activated on the replica: reaches agents 1 and 2 on the first one.
    started = performance.now();
    const onReplica = await api(
      replica.url,
      admin,
      'POST',
      `/v1/versions/${seed.number}/activate`,
      {
        reason: 'e2e: activation on replica B',
      },
    );
    expect(onReplica.status).toBe(200);
    const revB = onReplica.body.revision as number;
    expect(revB).toBeGreaterThan(revA);
    ({ ms, bodies } = await untilAllDecide(
      fleet,
      ALLOW.input,
      (b) => b.revision === revB,
      started,
    ));
    for (const body of bodies) expect(body.effect).toBe('allow');
    measured['replicas: activation on B -> all 3 agents (ms)'] = Math.max(...ms).toFixed(0);
    await waitConverged(revB, 3, cp);
  }, 90_000);
});
