/**
 * Two control-plane replicas sharing PostgreSQL and the Redis prefix (BullMQ + socket.io Redis
 * adapter), one real socket.io-client agent on each: a change made through either replica
 * reaches the agent held by the other, once; both replicas see the whole fleet and every log.
 * Also decision-log retention, which both replicas schedule as one repeatable job.
 */
import { verifyBundle, type BundleJwks } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  metricValue,
  tempDirs,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from '../control-plane/support.js';
import { agentTokenFor, connectAgent, getOk, record, type FakeAgent } from './support.js';

const temp = tempDirs();
/** Short retention, so the prune job runs every few seconds. */
const ENV = { STEPGATE_DECISION_RETENTION: '60s' };
let a: ControlPlaneProcess;
let b: ControlPlaneProcess;
let operator: string;
let agentToken: string;
let onA: FakeAgent;
let onB: FakeAgent;
let v1: Version;
let v2: Version;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  a = await startControlPlane(ENV);
  b = await startControlPlane(ENV, { replicaOf: a });
  operator = (await createToken(a, 'ops', ['operator'])).token;
  agentToken = (await createToken(b, 'agents', ['agent'])).token;
  const work = temp.make('replicas-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(a, a.adminToken), work]);
  v1 = await waitForVersion(a, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active);
  const sha = await commit(work, validPolicyFiles('replicas-v2'), 'Add replicas-v2');
  const push = await git(['push', 'origin', 'main'], work);
  if (push.status !== 0) throw new Error(push.stderr);
  v2 = await waitForVersion(a, sha, (v) => v.active);
}, 360_000);

afterAll(async () => {
  onA?.close();
  onB?.close();
  await b?.destroy();
  await a?.destroy();
  temp.cleanup();
});

async function activate(cp: ControlPlaneProcess, version: Version): Promise<number> {
  const response = await api(
    cp.url,
    operator,
    'POST',
    `/v1/versions/${version.number}/activate`,
    {},
  );
  expect(response.status).toBe(200);
  return response.body.revision as number;
}

async function bundleCount(agent: FakeAgent, revision: number): Promise<number> {
  return agent.events.filter((e) => e.name === 'bundle' && e.payload.revision === revision).length;
}

describe('two replicas', () => {
  it('each serves an agent the current bundle', async () => {
    onA = await connectAgent(a, { token: agentToken, agentId: 'on-a', labels: { zone: 'a' } });
    // A token is one agent's identity: the second agent has its own.
    onB = await connectAgent(b, {
      token: await agentTokenFor(b, 'on-b'),
      agentId: 'on-b',
      labels: { zone: 'b' },
    });
    const [fromA, fromB] = await Promise.all([onA.next('bundle'), onB.next('bundle')]);
    expect(fromA.revision).toBe(fromB.revision);
    onA.ack('active', fromA.revision);
    onB.ack('active', fromB.revision);
    for (const cp of [a, b]) {
      await waitFor('both agents converged', async () => {
        const fleet = await getOk(cp, operator, '/v1/fleet');
        return fleet.converged && fleet.agents.connected === 2;
      });
    }
  });

  it('an activation on replica A reaches the agent on replica B (once), and vice versa', async () => {
    const revision = await activate(a, v1);
    const [onBBundle, onABundle] = await Promise.all([
      onB.next('bundle', (m) => m.revision === revision),
      onA.next('bundle', (m) => m.revision === revision),
    ]);
    const keys = (await api(b.url, undefined, 'GET', '/v1/keys')).body as BundleJwks;
    expect((await verifyBundle(onBBundle.jws, keys)).version.number).toBe(v1.number);
    expect(onABundle.jws).toBe(onBBundle.jws);

    const back = await activate(b, v2);
    await Promise.all([
      onA.next('bundle', (m) => m.revision === back),
      onB.next('bundle', (m) => m.revision === back),
    ]);
    // One broadcast, delivered once per agent (not once per replica).
    await new Promise((r) => setTimeout(r, 300));
    for (const agent of [onA, onB]) {
      expect(await bundleCount(agent, revision)).toBe(1);
      expect(await bundleCount(agent, back)).toBe(1);
    }
    onA.ack('active', back);
    onB.ack('active', back);
    await waitFor('converged on the new revision, seen from A', async () => {
      const fleet = await getOk(a, operator, '/v1/fleet');
      return fleet.converged && fleet.activeRevision === back;
    });
  });

  it('a shadow set on B reaches the agent on A; the clear on A reaches the agent on B', async () => {
    const set = await api(b.url, operator, 'POST', `/v1/versions/${v1.number}/shadow`, {});
    expect(set.status).toBe(200);
    const shadow = await onA.next('bundle', (m) => m.kind === 'shadow');
    expect(shadow.revision).toBe(set.body.revision);
    const clear = await api(a.url, operator, 'DELETE', '/v1/shadow', {});
    expect(clear.status).toBe(200);
    expect((await onB.next('shadow:cleared')).revision).toBe(clear.body.revision);
  });

  it('logs sent to B are queryable on A; retention deletes old ones', async () => {
    const fresh = record({ principal: 'retained' });
    const stale = record({
      principal: 'expired',
      at: new Date(Date.now() - 2 * 3600_000).toISOString(),
    });
    expect(await onB.sendLogs({ batchId: 'r-1', records: [fresh, stale], dropped: 0 })).toEqual({
      ok: true,
    });
    await waitFor('the fresh record on A', async () => {
      const page = await getOk(a, operator, '/v1/decisions?principal=retained');
      return page.decisions.length === 1;
    });
    // The prune job runs every 6 s with a 60 s retention, on whichever replica takes it.
    await waitFor(
      'the expired record to be pruned',
      async () => {
        const pruned =
          (await metricValue(a.url, 'stepgate_decision_logs_pruned_total')) +
          (await metricValue(b.url, 'stepgate_decision_logs_pruned_total'));
        return pruned >= 1;
      },
      20_000,
    );
    expect((await getOk(a, operator, '/v1/decisions?principal=expired')).decisions).toEqual([]);
    expect((await getOk(b, operator, '/v1/decisions?principal=retained')).decisions).toHaveLength(
      1,
    );
  });

  it('an agent whose replica stops reconnects to the other and catches up', async () => {
    const revisionBefore = (await getOk(a, operator, '/v1/fleet')).activeRevision as number;
    await b.stop();
    await waitFor('on-b to be disconnected', async () => !onB.socket.connected);
    const revision = await activate(a, v1);
    // Reconnect to A holding the revision it had: it gets exactly what it lacks.
    onB = await connectAgent(a, {
      token: await agentTokenFor(b, 'on-b'),
      agentId: 'on-b',
      revisions: { active: revisionBefore },
    });
    const caughtUp = await onB.next('bundle');
    expect(caughtUp).toMatchObject({ kind: 'active', revision });
    const row = (await getOk(a, operator, '/v1/agents')).agents.find((x: any) => x.id === 'on-b');
    expect(row).toMatchObject({ status: 'connected', activeRevision: revisionBefore });
  });
});
