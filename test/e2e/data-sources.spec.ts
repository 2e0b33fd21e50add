/**
 * Data sources end to end (issue 13), all real: a local HTTP server serving a threat feed in the
 * Spamhaus DROP format (one range per line, `;` comments), the control plane (PostgreSQL, Redis,
 * embedded Git) polling it every second and publishing it as live data, and two agent processes
 * denying requests from the listed ranges. The feed changes and both agents follow; the feed
 * starts failing, the control plane reports it, and both agents keep deciding with the last good
 * list.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: e2e-feed
target: { actions: ["feed:*"] }
rules:
  - name: listed-network
    effect: deny
    when: context.ip.inCidr(data.e2e_feed)
  - name: others
    effect: allow
    when: "true"
`;
const FIRST_FEED = `; DROP List 2026/12/02
1.10.16.0/20 ; SBL256894
`;
const SECOND_FEED = `${FIRST_FEED}2.56.192.0/22 ; SBL459831
`;
const IN_FIRST = '1.10.16.5';
const IN_SECOND = '2.56.192.1';

/** What the feed answers now. */
const feed = { status: 200, body: FIRST_FEED, requests: 0 };
let feedServer: Server;

const temp = tempDirs();
let cp: ControlPlaneProcess;
let viewer: string;
let a: AgentProcess;
let b: AgentProcess;

function settingsWith(settings: string, url: string): string {
  const document = '  e2e_feed:\n    schema: e2e-schemas/feed.json\n    default: []\n';
  const withDocument = /^liveData:[ \t]*$/m.test(settings)
    ? settings.replace(/^liveData:[ \t]*\n/m, (line) => `${line}${document}`)
    : `${settings}\nliveData:\n${document}`;
  return `${withDocument}\ndataSources:\n  - name: e2e_feed\n    url: ${url}\n    every: 1s\n    format: lines\n`;
}

/** `listed` when the feed's rule denied, else the effect (a fail-mode deny is not `listed`). */
async function effect(agent: AgentProcess, ip: string): Promise<string | undefined> {
  const reply = await agent.decide({
    principal: { id: 'alice' },
    action: 'feed:read',
    resource: { kind: 'doc', id: 'readme' },
    context: { ip },
  });
  const body = reply.body as { effect?: string; reasons?: { rule?: string }[] };
  if (body.effect === 'deny' && body.reasons?.some((r) => r.rule === 'listed-network'))
    return 'listed';
  return body.effect;
}

const sourceStatus = async () => {
  const body = (await (await fetch(`${cp.url}/readyz`)).json()) as {
    dataSources?: { name: string; status: string; lastError?: string | null }[];
  };
  return body.dataSources?.find((source) => source.name === 'e2e_feed');
};

beforeAll(async () => {
  feedServer = createServer((_request, response) => {
    feed.requests += 1;
    response.writeHead(feed.status, { 'content-type': 'text/plain' }).end(feed.body);
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/drop.txt`;
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  cp = await startControlPlane({ STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const work = temp.make('feed-e2e');
  await cloneEmbedded(cp, work);
  const version = await pushPolicies(
    cp,
    work,
    {
      'e2e-schemas/feed.json': SCHEMA,
      'stepgate.yaml': settingsWith(readText(work, 'stepgate.yaml'), url),
      'e2e-feed.yaml': POLICY,
    },
    'Feed e2e_feed from a threat list',
  );
  expect(version.active, JSON.stringify(version)).toBe(true);
  viewer = (await createToken(cp, 'e2e-feed-viewer', ['viewer'])).token;
  [a, b] = (await startAgents(cp, 'feed', ['a', 'b'])) as [AgentProcess, AgentProcess];
}, 400_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  await new Promise((resolve) => feedServer?.close(resolve));
  temp.cleanup();
});

describe('a data source across a real fleet', () => {
  it('the fetched list reaches both agents, and a change to the feed follows', async () => {
    for (const agent of [a, b])
      await waitFor(
        `${agent.name} denies ${IN_FIRST} by the fetched list`,
        async () => (await effect(agent, IN_FIRST)) === 'listed',
        60_000,
      );
    expect(await effect(a, IN_SECOND)).toBe('allow');
    feed.body = SECOND_FEED;
    for (const agent of [a, b])
      await waitFor(
        `${agent.name} denies ${IN_SECOND} by the fetched list`,
        async () => (await effect(agent, IN_SECOND)) === 'listed',
        30_000,
      );
    const document = (await getOk(cp, viewer, '/v1/data/e2e_feed')) as { value: unknown };
    expect(document.value).toEqual(['1.10.16.0/20', '2.56.192.0/22']);
  }, 180_000);

  it('a feed that starts failing keeps the last good list on the control plane and both agents', async () => {
    const before = (await getOk(cp, viewer, '/v1/data/e2e_feed')) as {
      value: unknown;
      dataRevision: number;
    };
    feed.status = 500;
    feed.body = 'internal error';
    const seen = feed.requests;
    await waitFor(
      'the control plane reports the failing source',
      async () => (await sourceStatus())?.status === 'failing',
      30_000,
    );
    // Polled and failed more than once: the value must survive repeated failures.
    await waitFor('another failed poll', async () => feed.requests >= seen + 2, 30_000);
    expect((await sourceStatus())?.lastError).toMatch(/500/);
    const after = (await getOk(cp, viewer, '/v1/data/e2e_feed')) as typeof before;
    expect(after).toMatchObject({ value: before.value, dataRevision: before.dataRevision });
    for (const agent of [a, b]) {
      expect(await effect(agent, IN_FIRST)).toBe('listed');
      expect(await effect(agent, IN_SECOND)).toBe('listed');
      expect((await agent.readyz()).body).toMatchObject({ dataRevision: before.dataRevision });
    }
  }, 120_000);
});
