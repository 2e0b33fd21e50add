/**
 * Live data end to end (issue 13), all real: the control plane (PostgreSQL, Redis, embedded
 * Git) with a policy reading `data.e2e_blocked`, and two agent processes. A write through the
 * admin API reaches both agents (their decisions change, GET /v1/agents shows the data revision
 * they acked); an agent that was offline during two writes catches up by revision when it
 * reconnects; a schema-invalid write changes nothing anywhere; an agent restarted while the
 * control plane is down decides with the data from its disk cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  createToken,
  ensureControlPlaneBuilt,
  readText,
  tempDirs,
} from '../integration/control-plane/support.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import { AgentProcess, startAgents, getOk, killAllAgents, waitFor } from './support.js';

const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string' },
});
const DECLARATION = [
  '  e2e_blocked:',
  '    schema: e2e-schemas/blocked.json',
  '    default: []',
].join('\n');
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: e2e-live
target: { actions: ["live:*"] }
rules:
  - name: blocked
    effect: deny
    when: context.ip in data.e2e_blocked
  - name: others
    effect: allow
    when: "true"
`;

const FIRST = '203.0.113.7';
const SECOND = '198.51.100.20';
const THIRD = '192.0.2.30';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let writer: string;
let viewer: string;
let a: AgentProcess;
let b: AgentProcess;

/** The example settings with the live document declared (beside any the repository has). */
function withLiveData(settings: string): string {
  if (/^liveData:\s*$/m.test(settings))
    return settings.replace(/^liveData:\s*$/m, `liveData:\n${DECLARATION}`);
  return `${settings}\nliveData:\n${DECLARATION}\n`;
}

async function effect(agent: AgentProcess, ip: string): Promise<string | undefined> {
  const reply = await agent.decide({
    principal: { id: 'alice' },
    action: 'live:read',
    resource: { kind: 'doc', id: 'readme' },
    context: { ip },
  });
  return (reply.body as { effect?: string }).effect;
}

async function put(value: string[]): Promise<number> {
  const response = await fetch(`${cp.url}/v1/data/e2e_blocked`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${writer}`,
      'content-type': 'application/json',
      'x-stepgate-reason': 'e2e live data',
    },
    body: JSON.stringify(value),
  });
  const body = (await response.json()) as { revision: number };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.revision;
}

const dataRevisionOf = async (agentId: string): Promise<number | undefined> => {
  const { agents } = (await getOk(cp, viewer, '/v1/agents')) as {
    agents: { id: string; dataRevision: number }[];
  };
  return agents.find((agent) => agent.id === agentId)?.dataRevision;
};

beforeAll(async () => {
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  cp = await startControlPlane();
  const work = temp.make('live-e2e');
  await cloneEmbedded(cp, work);
  const version = await pushPolicies(
    cp,
    work,
    {
      'e2e-schemas/blocked.json': SCHEMA,
      'stepgate.yaml': withLiveData(readText(work, 'stepgate.yaml')),
      'e2e-live.yaml': POLICY,
    },
    'Declare e2e live data',
  );
  expect(version.active, JSON.stringify(version)).toBe(true);
  writer = (await createToken(cp, 'e2e-live-writer', ['data'])).token;
  viewer = (await createToken(cp, 'e2e-live-viewer', ['viewer'])).token;
  [a, b] = (await startAgents(cp, 'live', ['a', 'b'])) as [AgentProcess, AgentProcess];
}, 400_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  temp.cleanup();
});

describe('live data across a real fleet', () => {
  it('a write reaches both agents and their acks show in the fleet view', async () => {
    for (const agent of [a, b])
      await waitFor(
        `${agent.name} decides with the bundle`,
        async () => (await effect(agent, FIRST)) === 'allow',
        60_000,
      );
    const revision = await put([FIRST]);
    for (const agent of [a, b]) {
      await waitFor(
        `${agent.name} denies ${FIRST}`,
        async () => (await effect(agent, FIRST)) === 'deny',
        30_000,
      );
      expect(await effect(agent, SECOND)).toBe('allow');
      await waitFor(
        `${agent.name} acked ${revision}`,
        async () => (await dataRevisionOf(agent.agentId as string)) === revision,
        30_000,
      );
      expect((await agent.readyz()).body).toMatchObject({ dataRevision: revision });
    }
    const fleet = await getOk(cp, viewer, '/v1/fleet');
    expect(fleet.data).toEqual({ revision, converged: true, behind: [] });
  }, 180_000);

  it('an agent offline during two writes catches up by revision when it reconnects', async () => {
    await b.stop();
    await put([SECOND]);
    const latest = await put([SECOND, THIRD]);
    await waitFor('a applied both writes', async () => (await effect(a, THIRD)) === 'deny', 30_000);
    await b.start();
    // Restarted from its cache: it held the first write until the control plane answered.
    await waitFor('b caught up', async () => (await effect(b, THIRD)) === 'deny', 60_000);
    expect(await effect(b, SECOND)).toBe('deny');
    expect(await effect(b, FIRST)).toBe('allow');
    expect((await b.readyz()).body).toMatchObject({ dataRevision: latest });
    await waitFor(
      'b acked the latest revision',
      async () => (await dataRevisionOf('e2e-live-b')) === latest,
      30_000,
    );
  }, 180_000);

  it('a schema-invalid write is refused and nothing changes, on the control plane or the agents', async () => {
    const before = (await getOk(cp, viewer, '/v1/data/e2e_blocked')) as {
      value: unknown;
      dataRevision: number;
    };
    const response = await fetch(`${cp.url}/v1/data/e2e_blocked`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${writer}`,
        'content-type': 'application/json',
        'x-stepgate-reason': 'e2e invalid write',
      },
      body: JSON.stringify([FIRST, 42]),
    });
    const body = (await response.json()) as { error?: string; details?: unknown };
    expect(response.status).toBe(400);
    expect(body).toMatchObject({
      error: 'data/invalid',
      details: [{ path: '/1', message: 'must be string' }],
    });
    const after = (await getOk(cp, viewer, '/v1/data/e2e_blocked')) as typeof before;
    expect(after).toMatchObject({ value: before.value, dataRevision: before.dataRevision });
    for (const agent of [a, b]) {
      expect((await agent.readyz()).body).toMatchObject({ dataRevision: before.dataRevision });
      expect(await effect(agent, FIRST)).toBe('allow');
    }
  }, 60_000);

  // Last: it leaves the control plane stopped.
  it('written data survives an agent restart while the control plane is down', async () => {
    const { dataRevision } = (await getOk(cp, viewer, '/v1/data/e2e_blocked')) as {
      dataRevision: number;
    };
    await cp.stop();
    await a.stop();
    await a.start();
    // From its disk cache alone: the bundle and the live data it last acked.
    expect(await effect(a, THIRD)).toBe('deny');
    expect(await effect(a, FIRST)).toBe('allow');
    expect((await a.readyz()).body).toMatchObject({ dataRevision });
  }, 120_000);
});
