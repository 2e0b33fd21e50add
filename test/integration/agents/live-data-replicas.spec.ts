/**
 * Live data across control-plane replicas (issue 13): a real agent process connected to replica
 * B receives a write made through replica A (the push goes through the socket.io Redis adapter,
 * as bundles do), and B records its ack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  createToken,
  ensureControlPlaneBuilt,
  readText,
  tempDirs,
} from '../control-plane/support.js';
import { cloneEmbedded, pushPolicies } from '../control-plane/step-up-support.js';
import {
  call,
  ensureAgentBuilt,
  startAgentProcess,
  waitFor,
  type AgentProcess,
} from '../agent/support.js';
import { getOk } from './support.js';

const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string' },
});
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: replica-live
target: { actions: ["live:*"] }
rules:
  - name: blocked
    effect: deny
    when: context.ip in data.replica_blocked
  - name: others
    effect: allow
    when: "true"
`;
const IP = '203.0.113.9';

const temp = tempDirs();
let a: ControlPlaneProcess;
let b: ControlPlaneProcess;
let agent: AgentProcess;

function withLiveData(settings: string): string {
  const declaration =
    '  replica_blocked:\n    schema: replica-schemas/blocked.json\n    default: []';
  if (/^liveData:\s*$/m.test(settings))
    return settings.replace(/^liveData:\s*$/m, `liveData:\n${declaration}`);
  return `${settings}\nliveData:\n${declaration}\n`;
}

async function effect(ip: string): Promise<string | undefined> {
  const reply = await call(agent.url, 'POST', '/v1/decide', {
    principal: { id: 'alice' },
    action: 'live:read',
    resource: { kind: 'doc', id: 'readme' },
    context: { ip },
  });
  return (reply.body as { effect?: string }).effect;
}

beforeAll(async () => {
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  a = await startControlPlane();
  b = await startControlPlane({}, { replicaOf: a });
  const work = temp.make('live-replicas');
  await cloneEmbedded(a, work);
  const version = await pushPolicies(
    a,
    work,
    {
      'replica-schemas/blocked.json': SCHEMA,
      'stepgate.yaml': withLiveData(readText(work, 'stepgate.yaml')),
      'replica-live.yaml': POLICY,
    },
    'Declare live data',
  );
  expect(version.active, JSON.stringify(version)).toBe(true);
  const cacheDir = temp.make('live-replicas-cache');
  agent = await startAgentProcess(
    {
      STEPGATE_URL: b.url,
      STEPGATE_AGENT_TOKEN: (await createToken(b, 'replica-agent', ['agent'])).token,
      STEPGATE_AGENT_ID: 'replica-live-agent',
    },
    cacheDir,
  );
}, 400_000);

afterAll(async () => {
  await agent?.kill();
  await b?.destroy();
  await a?.destroy();
  temp.cleanup();
});

describe('live data across replicas', () => {
  it('a write through replica A reaches the agent held by replica B, which records the ack', async () => {
    await waitFor(
      'the agent decides with the bundle',
      async () => (await effect(IP)) === 'allow',
      60_000,
    );
    const writer = (await createToken(a, 'replica-writer', ['data'])).token;
    const response = await fetch(`${a.url}/v1/data/replica_blocked`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${writer}`,
        'content-type': 'application/json',
        'x-stepgate-reason': 'replica test',
      },
      body: JSON.stringify([IP]),
    });
    const body = (await response.json()) as { revision: number };
    expect(response.status, JSON.stringify(body)).toBe(200);
    await waitFor(
      'the agent on B denies the address',
      async () => (await effect(IP)) === 'deny',
      30_000,
    );
    const viewer = (await createToken(a, 'replica-viewer', ['viewer'])).token;
    await waitFor(
      'the ack recorded',
      async () => {
        const { agents } = await getOk(a, viewer, '/v1/agents');
        return agents.some(
          (row: { id: string; dataRevision: number }) =>
            row.id === 'replica-live-agent' && row.dataRevision === body.revision,
        );
      },
      30_000,
    );
  }, 180_000);
});
