/**
 * Fleet tokens (issue 16, the Kubernetes DaemonSet's agents): one agent token created with an
 * agent-id prefix admits every agent id under it, each bound to that token on first connect,
 * on the real control plane (child process, PostgreSQL, Redis) with real socket.io-client
 * agents. Attacks tried: an id outside the prefix, a fleet token claiming an id another token
 * holds, another token claiming an id the fleet token admitted, an overlapping second fleet
 * token, and the revoked fleet token itself. The token is created with the real CLI command.
 */
import { createTokenResponseSchema } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenCommand,
  tokensCommand,
} from '../../../apps/cli/src/commands/tokens-command.js';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { ensureControlPlaneBuilt } from '../control-plane/support.js';
import {
  agentToken,
  attemptConnection,
  connectAgent,
  getOk,
  refusedConnection,
  waitForAgent,
  type FakeAgent,
} from './support.js';

let cp: ControlPlaneProcess;
let viewer: string;
const open: FakeAgent[] = [];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await tokenWithScopes('dashboard', ['viewer'])).token;
}, 120_000);

afterAll(async () => {
  for (const agent of open) agent.close();
  await cp?.destroy();
});

async function tokenWithScopes(name: string, scopes: string[]) {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', { name, scopes });
  expect(response.status).toBe(201);
  return response.body as { id: string; token: string };
}

async function connect(token: string, agentId: string): Promise<FakeAgent> {
  const agent = await connectAgent(cp, { token, agentId });
  open.push(agent);
  return agent;
}

/** `stepgate tokens …` run in-process against the real control plane; stdout and exit code. */
async function cli(
  command: typeof createTokenCommand | typeof tokensCommand,
  options: Record<string, unknown>,
): Promise<{ exit: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  };
  const exit = await command({ url: cp.url, token: cp.adminToken, ...options }, io);
  return { exit, stdout, stderr };
}

async function fleetToken(name: string, agentIdPrefix: string) {
  const run = await cli(createTokenCommand, { name, scopes: ['agent'], agentIdPrefix, json: true });
  expect(run.exit, run.stderr).toBe(0);
  return createTokenResponseSchema.parse(JSON.parse(run.stdout));
}

interface AuditEvent {
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
}

async function audit(action: string): Promise<AuditEvent[]> {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/audit?action=${action}&limit=500`);
  expect(response.status).toBe(200);
  return response.body.events;
}

async function agentIds(): Promise<string[]> {
  return (await getOk(cp, viewer, '/v1/agents')).agents.map((a: { id: string }) => a.id);
}

describe('a fleet token', () => {
  let fleet: { id: string; token: string };

  beforeAll(async () => {
    fleet = await fleetToken('kubernetes-webhook', 'node-');
  });

  it('is created with --agent-id-prefix, audited, and listed with its prefix', async () => {
    const created = (await audit('token.create')).find((e) => e.target === fleet.id);
    expect(created).toMatchObject({
      details: { name: 'kubernetes-webhook', scopes: ['agent'], agentIdPrefix: 'node-' },
    });
    const listed = (await getOk(cp, cp.adminToken, '/v1/tokens')).tokens;
    expect(listed.find((t: { id: string }) => t.id === fleet.id)).toMatchObject({
      agentId: null,
      agentIdPrefix: 'node-',
    });
    const table = await cli(tokensCommand, {});
    expect(table.exit, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/kubernetes-webhook\s.*\bagent\s+node-\*\s/);
    expect(table.stdout).not.toContain(fleet.token);
  });

  it('connects node-a and node-b at once, each its own agent in GET /v1/agents', async () => {
    const [a, b] = await Promise.all([
      connect(fleet.token, 'node-a'),
      connect(fleet.token, 'node-b'),
    ]);
    for (const id of ['node-a', 'node-b'])
      expect(await waitForAgent(cp, viewer, id, (row) => row.status === 'connected')).toMatchObject(
        {
          tokenId: fleet.id,
        },
      );
    expect(a.socket.connected && b.socket.connected).toBe(true);
    // Restarted, each comes back as itself.
    a.close();
    (await connect(fleet.token, 'node-a')).close();
    const binds = (await audit('agent.bind')).filter((e) => e.details?.tokenId === fleet.id);
    expect(binds.map((e) => e.target).sort()).toEqual(['agent:node-a', 'agent:node-b']);
    expect(binds[0]).toMatchObject({
      actor: 'token:kubernetes-webhook',
      details: { agentIdPrefix: 'node-' },
    });
  });

  it('refuses an id outside its prefix (outside_prefix), audited', async () => {
    const refused = await refusedConnection(cp, { token: fleet.token, agentId: 'other-x' });
    expect(refused).toMatchObject({ code: 'auth/forbidden', reason: 'outside_prefix' });
    expect(refused.message).toContain('admits agent ids starting with "node-" only');
    expect(refused.received).toEqual([]);
    let events: AuditEvent[] = [];
    await waitFor('the refusal in the audit log', async () => {
      events = (await audit('agent.identity_refused')).filter((e) => e.target === 'agent:other-x');
      return events.length === 1;
    });
    expect(events[0]).toMatchObject({
      actor: 'token:kubernetes-webhook',
      details: { tokenId: fleet.id, why: 'outside_prefix', agentIdPrefix: 'node-' },
    });
    expect(JSON.stringify(events)).not.toContain(fleet.token);
    expect(await agentIds()).not.toContain('other-x');
  });

  it('cannot take an id a single-agent token holds, nor can any token take one it admitted', async () => {
    const single = await agentToken(cp, 'node-c', 'node-c-own');
    (await connect(single.token, 'node-c')).close();
    const takeover = await refusedConnection(cp, { token: fleet.token, agentId: 'node-c' });
    expect(takeover).toMatchObject({ code: 'auth/forbidden', reason: 'id_bound' });
    expect(takeover.message).toContain('agent id "node-c" is bound to another agent token');
    const row = await waitForAgent(cp, viewer, 'node-c', () => true);
    expect(row.tokenId).toBe(single.id);

    // The other way: a fresh single-agent token, and one created for the id, meet the fleet's.
    const intruder = await agentToken(cp, undefined, 'intruder');
    expect(await refusedConnection(cp, { token: intruder.token, agentId: 'node-a' })).toMatchObject(
      { code: 'auth/forbidden', reason: 'id_bound' },
    );
    const preBound = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: 'node-a-own',
      scopes: ['agent'],
      agentId: 'node-a',
    });
    expect(preBound.status).toBe(409);
    expect(preBound.body).toMatchObject({ error: 'token/conflict' });
    expect(preBound.body.message).toContain(
      `bound to the fleet token "kubernetes-webhook" (${fleet.id})`,
    );

    let refusals: AuditEvent[] = [];
    await waitFor('both refusals audited', async () => {
      refusals = (await audit('agent.identity_refused')).filter(
        (e) => e.target === 'agent:node-c' || e.details?.tokenId === intruder.id,
      );
      return refusals.length === 2;
    });
    expect(refusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          details: expect.objectContaining({
            tokenId: fleet.id,
            why: 'id_bound',
            boundTokenId: single.id,
          }),
        }),
        expect.objectContaining({
          details: expect.objectContaining({
            tokenId: intruder.id,
            why: 'id_bound',
            boundTokenId: fleet.id,
          }),
        }),
      ]),
    );
  });

  it('refuses a second live fleet token whose prefix overlaps (409), names the fix', async () => {
    for (const agentIdPrefix of ['node-', 'node-eu-', 'no']) {
      const run = await cli(createTokenCommand, {
        name: `second-${agentIdPrefix}`,
        scopes: ['agent'],
        agentIdPrefix,
      });
      expect(run.exit, agentIdPrefix).toBe(1);
      expect(run.stderr).toContain(`overlaps "node-" of the live fleet token "kubernetes-webhook"`);
      expect(run.stderr).toContain(`DELETE /v1/tokens/${fleet.id}`);
    }
    const disjoint = await fleetToken('edge-fleet', 'edge-');
    expect(await refusedConnection(cp, { token: disjoint.token, agentId: 'node-a' })).toMatchObject(
      { reason: 'outside_prefix' },
    );
  });

  it('refuses a bad prefix with the field and the fix (400)', async () => {
    for (const body of [
      { name: 'x', scopes: ['agent'], agentIdPrefix: 'node /' },
      { name: 'x', scopes: ['agent'], agentIdPrefix: '' },
      { name: 'x', scopes: ['viewer'], agentIdPrefix: 'node-' },
      { name: 'x', scopes: ['agent'], agentIdPrefix: 'node-', agentId: 'node-z' },
    ]) {
      const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toBe('request/invalid');
      expect(response.body.message).toMatch(/^invalid request body: agentIdPrefix: /);
    }
  });

  it('lets exactly one of a fleet token and a single-agent token claiming one id at once win', async () => {
    for (let round = 0; round < 3; round++) {
      const agentId = `node-race-${round}`;
      const single = await agentToken(cp);
      const results = await Promise.all(
        [fleet.token, single.token].map((token) => attemptConnection(cp, { token, agentId })),
      );
      const winners = results.filter((r) => r.agent);
      for (const winner of winners) open.push(winner.agent!);
      expect(winners, agentId).toHaveLength(1);
      expect(results.find((r) => r.refusal)!.refusal!.message).toContain(
        `agent id "${agentId}" is bound to another agent token`,
      );
    }
  });
});

describe('single-agent tokens beside fleet tokens', () => {
  it('still bind the first id they connect as, and nothing else', async () => {
    const token = await agentToken(cp);
    (await connect(token.token, 'web-1')).close();
    expect(await refusedConnection(cp, { token: token.token, agentId: 'web-2' })).toMatchObject({
      code: 'auth/forbidden',
      reason: 'token_bound',
    });
    const listed = (await getOk(cp, cp.adminToken, '/v1/tokens')).tokens;
    expect(listed.find((t: { id: string }) => t.id === token.id)).toMatchObject({
      agentId: 'web-1',
      agentIdPrefix: null,
    });
  });
});

describe('revoking a fleet token', () => {
  it('ends its agents, refuses it, and a new fleet token takes the ids over in the open', async () => {
    const old = await fleetToken('rotating-fleet', 'pool-');
    const agents = await Promise.all([connect(old.token, 'pool-1'), connect(old.token, 'pool-2')]);
    expect((await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${old.id}`)).status).toBe(204);
    await waitFor(
      'the revoked token’s sockets to be closed',
      () => agents.every((agent) => !agent.socket.connected),
      10_000,
    );
    for (const agentId of ['pool-1', 'pool-3'])
      expect(await refusedConnection(cp, { token: old.token, agentId })).toMatchObject({
        code: 'auth/unauthenticated',
      });

    // The revoked token's prefix no longer blocks a new one; its ids move only when claimed.
    const next = await fleetToken('rotated-fleet', 'pool-');
    (await connect(next.token, 'pool-1')).close();
    await waitForAgent(cp, viewer, 'pool-1', (row) => row.tokenId === next.id);
    const moved = (await audit('agent.bind')).find(
      (e) => e.target === 'agent:pool-1' && e.details?.tokenId === next.id,
    );
    expect(moved?.details).toMatchObject({ agentIdPrefix: 'pool-', releasedFrom: old.id });
  });
});
