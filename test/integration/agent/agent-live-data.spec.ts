/**
 * Live data (issue 13) reaching a real agent process from the fake control plane: a signed
 * delta changes decisions, the agent acks it once on disk, refuses a replayed, tampered or
 * foreign message, and after a restart with the control plane down decides with what it had.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signDataMessage, type DataMessage } from '@stepgate/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleSigner,
  call,
  cleanup,
  compilePolicyDir,
  ensureAgentBuilt,
  FakeControlPlane,
  startAgentProcess,
  tamper,
  tempDir,
  waitFor,
  type AgentProcess,
  type BundleSigner,
} from './support.js';

const BLOCKED = '203.0.113.7';
const OTHER = '198.51.100.20';

let signer: BundleSigner;
let rogue: BundleSigner;
let keysFile: string;
let repo: string;
const dirs: string[] = [];
const running: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  [signer, rogue] = await Promise.all([bundleSigner(), bundleSigner()]);
  const keys = tempDir('keys');
  keysFile = join(keys, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
  repo = tempDir('live-repo');
  dirs.push(keys, repo);
  mkdirSync(join(repo, 'schemas'));
  writeFileSync(
    join(repo, 'stepgate.yaml'),
    `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
liveData:
  blocked_ips:
    schema: schemas/blocked-ips.json
    default: []
`,
  );
  writeFileSync(
    join(repo, 'schemas', 'blocked-ips.json'),
    JSON.stringify({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      items: { type: 'string' },
    }),
  );
  writeFileSync(
    join(repo, 'ips.yaml'),
    `apiVersion: stepgate/v1
kind: Policy
name: ips
target: { actions: ["docs:*"] }
rules:
  - name: blocked-ip
    effect: deny
    when: context.ip in data.blocked_ips
  - name: everyone-else
    effect: allow
    when: "true"
`,
  );
}, 300_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.kill()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
});

afterAll(() => cleanup(...dirs));

const data = (
  fromRevision: number,
  revision: number,
  blocked: string[],
  by: BundleSigner = signer,
): Promise<DataMessage> =>
  signDataMessage(
    { fromRevision, revision, documents: { blocked_ips: blocked }, bundleRevision: 1 },
    by.key,
  );

async function effect(agent: AgentProcess, ip: string): Promise<string> {
  const response = await call(agent.url, 'POST', '/v1/decide', {
    principal: { id: 'alice' },
    action: 'docs:read',
    resource: { kind: 'doc', id: 'readme' },
    context: { ip },
  });
  return (response.body as { effect: string }).effect;
}

async function start(cp: FakeControlPlane, cacheDir: string): Promise<AgentProcess> {
  const agent = await startAgentProcess(
    {
      STEPGATE_URL: cp.url,
      STEPGATE_AGENT_TOKEN: cp.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
    },
    cacheDir,
  );
  running.push(agent);
  return agent;
}

describe('live data on a real agent', () => {
  it('applies a delta, acks it, refuses replays, forgeries and tampering, and keeps it across a restart without the control plane', async () => {
    const cp = await FakeControlPlane.start(signer.jwks);
    planes.push(cp);
    cp.publish('active', 1, await signer.sign(compilePolicyDir(repo), 1));
    const cacheDir = tempDir('cache');
    dirs.push(cacheDir);
    const agent = await start(cp, cacheDir);
    await waitFor(
      'the agent to be ready',
      async () => (await call(agent.url, 'GET', '/readyz')).status === 200,
      30_000,
    );
    // Nothing pushed yet: the declared default (no address blocked).
    expect(await effect(agent, BLOCKED)).toBe('allow');

    cp.publishData(await data(0, 1, [BLOCKED]));
    await waitFor(
      'the blocked address denied',
      async () => (await effect(agent, BLOCKED)) === 'deny',
      30_000,
    );
    expect(await effect(agent, OTHER)).toBe('allow');
    await waitFor(
      'the ack of revision 1',
      () => cp.dataAcks.some((ack) => ack.revision === 1),
      30_000,
    );

    // A delta replaces the whole document.
    cp.send('data', await data(1, 2, [OTHER]));
    await waitFor('the delta applied', async () => (await effect(agent, OTHER)) === 'deny', 30_000);
    expect(await effect(agent, BLOCKED)).toBe('allow');
    await waitFor(
      'the ack of revision 2',
      () => cp.dataAcks.some((ack) => ack.revision === 2),
      30_000,
    );
    expect((await call(agent.url, 'GET', '/readyz')).body).toMatchObject({ dataRevision: 2 });

    // Refused: the older revision again (acked as a duplicate with revision 2, nothing
    // changes), a tampered message and one signed by a key the agent does not trust.
    const acks = cp.dataAcks.length;
    cp.send('data', await data(0, 1, [BLOCKED]));
    await waitFor('the duplicate acked', () => cp.dataAcks.length > acks, 30_000);
    expect(cp.dataAcks.at(-1)).toEqual({ revision: 2 });
    const forged = await data(2, 3, [BLOCKED]);
    cp.send('data', { ...forged, jws: tamper(forged.jws) });
    cp.send('data', await data(2, 3, [BLOCKED], rogue));
    await waitFor(
      'both refusals logged',
      () => (agent.output().match(/live data refused/g) ?? []).length >= 2,
      30_000,
    );
    expect(await effect(agent, BLOCKED)).toBe('allow');
    expect(await effect(agent, OTHER)).toBe('deny');

    // Decision records name the data revision they read.
    await waitFor(
      'a record naming data revision 2',
      () => cp.records().some((record) => record.dataRevision === 2),
      30_000,
    );

    // Restarted with the control plane gone: the cached live data decides.
    await agent.stop();
    await cp.stop();
    const restarted = await start(cp, cacheDir);
    expect(await effect(restarted, OTHER)).toBe('deny');
    expect(await effect(restarted, BLOCKED)).toBe('allow');
    expect((await call(restarted.url, 'GET', '/readyz')).body).toMatchObject({
      dataRevision: 2,
      connected: false,
    });
  }, 180_000);
});
