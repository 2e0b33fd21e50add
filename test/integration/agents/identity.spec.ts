/**
 * Agent identity is bound to its token (DESIGN "Trust at the boundaries"), on the real control
 * plane (child process, PostgreSQL, Redis) with real socket.io-client agents: a token claims
 * the agent id it first connects as (or the id it was created for); another token cannot
 * connect as that id, so it can neither ack revisions nor ship decision logs in its name.
 * Claims are race-free; revoking the bound token ends its sessions and frees the id for a new
 * token (rotation). Refusals are audited and logged, never with the token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { createToken, ensureControlPlaneBuilt } from '../control-plane/support.js';
import {
  agentToken,
  attemptConnection,
  connectAgent,
  getOk,
  record,
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
  viewer = (await createToken(cp, 'dashboard', ['viewer'])).token;
}, 120_000);

afterAll(async () => {
  for (const agent of open) agent.close();
  await cp?.destroy();
});

async function connect(token: string, agentId: string): Promise<FakeAgent> {
  const agent = await connectAgent(cp, { token, agentId });
  open.push(agent);
  return agent;
}

async function decisionsOf(agentId: string): Promise<{ decisionId: string; principal: string }[]> {
  const body = await getOk(cp, viewer, `/v1/decisions?agent=${agentId}&limit=1000`);
  return body.decisions;
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

describe('an agent token cannot act as another agent', () => {
  it('refuses another agent token connecting as a1; no ack or decision log lands under a1', async () => {
    const t1 = await agentToken(cp);
    const real = await connect(t1.token, 'a1');
    await waitForAgent(cp, viewer, 'a1', (row) => row.status === 'connected');
    const before = record({ principal: 'alice' });
    expect(await real.sendLogs({ batchId: 'a1-before', records: [before], dropped: 0 })).toEqual({
      ok: true,
    });

    // The attacker holds a valid agent token of its own (T2) and claims to be a1.
    const t2 = await agentToken(cp, undefined, 'compromised-agent');
    const attempt = await attemptConnection(cp, { token: t2.token, agentId: 'a1' });
    if (attempt.agent) {
      // What the attack did before the fix: ack a revision and ship a fabricated allow.
      attempt.agent.ack('active', 999);
      const fabricated = record({
        principal: 'ceo',
        action: 'deploy',
        resource: { kind: 'environment', id: 'prod/billing' },
        effect: 'allow',
      });
      await attempt.agent.sendLogs({ batchId: 'forged', records: [fabricated], dropped: 0 });
      attempt.agent.close();
    }

    // A later batch of the real agent: once it is stored, anything queued before it is too.
    const after = record({ principal: 'bob' });
    expect(await real.sendLogs({ batchId: 'a1-after', records: [after], dropped: 0 })).toEqual({
      ok: true,
    });
    await waitFor('the real agent’s logs to be stored', async () => {
      const ids = (await decisionsOf('a1')).map((d) => d.decisionId);
      return ids.includes(before.decisionId) && ids.includes(after.decisionId);
    });

    expect(attempt.refusal?.code).toBe('auth/forbidden');
    expect(attempt.refusal?.message).toMatch(/agent id "a1" is bound to another agent token/);
    expect((await decisionsOf('a1')).map((d) => d.principal).sort()).toEqual(['alice', 'bob']);
    const row = await waitForAgent(cp, viewer, 'a1', () => true);
    // Still the real agent's row: connected (the attacker's disconnect did not end it) and
    // without the forged ack.
    expect(row).toMatchObject({ status: 'connected', tokenId: t1.id });
    expect(row.activeRevision).not.toBe(999);
    expect(cp.output()).not.toContain(t2.token);
  });

  it('binds a token to the first agent id it connects as', async () => {
    const token = await agentToken(cp);
    const first = await connect(token.token, 'b1');
    first.close();
    // The same agent again (a restart): accepted.
    (await connect(token.token, 'b1')).close();
    const refused = await refusedConnection(cp, { token: token.token, agentId: 'b2' });
    expect(refused.code).toBe('auth/forbidden');
    expect(refused.message).toMatch(/this token is bound to agent id "b1"/);
    expect(refused.received).toEqual([]);
    const listed = (await getOk(cp, cp.adminToken, '/v1/tokens')).tokens as {
      id: string;
      agentId: string | null;
    }[];
    expect(listed.find((t) => t.id === token.id)?.agentId).toBe('b1');
    expect(
      (await getOk(cp, viewer, '/v1/agents')).agents.map((a: { id: string }) => a.id),
    ).not.toContain('b2');
  });

  it('lets exactly one of two sockets claiming with one new token at once win', async () => {
    for (let round = 0; round < 3; round++) {
      const { token } = await agentToken(cp);
      const ids = [`race-${round}-x`, `race-${round}-y`];
      const results = await Promise.all(
        ids.map((agentId) => attemptConnection(cp, { token, agentId })),
      );
      const winners = results.filter((r) => r.agent);
      for (const winner of winners) open.push(winner.agent!);
      expect(winners).toHaveLength(1);
      const loser = results.find((r) => r.refusal)!.refusal!;
      expect(loser.code).toBe('auth/forbidden');
      expect(loser.message).toContain(`bound to agent id "${winners[0]!.agent!.id}"`);
    }
  });

  it('lets exactly one of two new tokens claiming one agent id at once win', async () => {
    for (let round = 0; round < 3; round++) {
      const agentId = `contested-${round}`;
      const tokens = await Promise.all([agentToken(cp), agentToken(cp)]);
      const results = await Promise.all(
        tokens.map(({ token }) => attemptConnection(cp, { token, agentId })),
      );
      const winners = results.filter((r) => r.agent);
      for (const winner of winners) open.push(winner.agent!);
      expect(winners).toHaveLength(1);
      expect(results.find((r) => r.refusal)!.refusal!.message).toContain(
        `agent id "${agentId}" is bound to another agent token`,
      );
    }
  });

  it('audits each refusal with the token’s name, never the token', async () => {
    const owner = await agentToken(cp, undefined, 'owner-audited');
    await connect(owner.token, 'audited-1');
    // One intruder token is bound to another id (token_bound), one is new (id_bound).
    const bound = await agentToken(cp, 'audited-2', 'intruder-bound');
    const fresh = await agentToken(cp, undefined, 'intruder-fresh');
    for (const intruder of [bound, fresh])
      expect(
        (await refusedConnection(cp, { token: intruder.token, agentId: 'audited-1' })).code,
      ).toBe('auth/forbidden');
    let events: AuditEvent[] = [];
    await waitFor('both refusals in the audit log', async () => {
      events = (await audit('agent.identity_refused')).filter(
        (e) => e.target === 'agent:audited-1',
      );
      return events.length === 2;
    });
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: 'token:intruder-bound',
          details: expect.objectContaining({
            tokenId: bound.id,
            why: 'token_bound',
            boundAgentId: 'audited-2',
          }),
        }),
        expect.objectContaining({
          actor: 'token:intruder-fresh',
          details: expect.objectContaining({
            tokenId: fresh.id,
            why: 'id_bound',
            boundTokenId: owner.id,
          }),
        }),
      ]),
    );
    expect(JSON.stringify(events)).not.toContain(bound.token);
    expect(JSON.stringify(events)).not.toContain(fresh.token);
    expect(cp.output()).toContain('agent connection refused');
    expect(cp.output()).not.toContain(fresh.token);
    const claimed = (await audit('agent.bind')).find((e) => e.target === 'agent:audited-1');
    expect(claimed).toMatchObject({ actor: 'token:owner-audited', details: { tokenId: owner.id } });
  });
});

describe('rotation', () => {
  it('revoking the bound token ends its sessions and lets a new token claim the id', async () => {
    const old = await agentToken(cp);
    const agent = await connect(old.token, 'rotated-1');
    const next = await agentToken(cp);
    expect((await refusedConnection(cp, { token: next.token, agentId: 'rotated-1' })).code).toBe(
      'auth/forbidden',
    );
    const revoked = await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${old.id}`);
    expect(revoked.status).toBe(204);
    await waitFor('the revoked token’s socket to be closed', () => !agent.socket.connected, 10_000);
    (await connect(next.token, 'rotated-1')).close();
    expect((await refusedConnection(cp, { token: old.token, agentId: 'rotated-1' })).code).toBe(
      'auth/unauthenticated',
    );
    const bind = (await audit('agent.bind')).filter((e) => e.target === 'agent:rotated-1');
    expect(bind.map((e) => e.details?.tokenId)).toEqual([next.id, old.id]);
    expect(bind[0]!.details).toMatchObject({ releasedFrom: old.id });
  });
});

describe('rotation across replicas', () => {
  let replica: ControlPlaneProcess;

  beforeAll(async () => {
    replica = await startControlPlane({}, { replicaOf: cp });
  }, 120_000);

  afterAll(async () => {
    await replica?.destroy();
  });

  it('a revocation on one replica closes the token’s sockets on the other, which refuses it at once', async () => {
    const old = await agentToken(cp, 'replicated-1');
    // Connected to the replica: its token cache now holds the token for 30 s.
    const agent = await connectAgent(replica, { token: old.token, agentId: 'replicated-1' });
    open.push(agent);
    expect((await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${old.id}`)).status).toBe(204);
    await waitFor('the replica to close the socket', () => !agent.socket.connected, 10_000);
    await waitFor(
      'the replica to refuse the revoked token',
      async () =>
        (
          await refusedConnection(replica, { token: old.token, agentId: 'replicated-1' }).catch(
            () => ({ code: 'accepted' }),
          )
        ).code === 'auth/unauthenticated',
      10_000,
    );
    const next = await agentToken(cp);
    (await connectAgent(replica, { token: next.token, agentId: 'replicated-1' })).close();
  });
});

describe('tokens created for one agent id', () => {
  it('connects only as that id; a second live token for it is a 409 until the first is revoked', async () => {
    const agentId = `pre-${randomUUID().slice(0, 6)}`;
    const token = await agentToken(cp, agentId);
    const refused = await refusedConnection(cp, { token: token.token, agentId: `${agentId}-x` });
    expect(refused.message).toContain(`this token is bound to agent id "${agentId}"`);
    (await connect(token.token, agentId)).close();
    const second = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: 'second',
      scopes: ['agent'],
      agentId,
    });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('token/conflict');
    expect(second.body.message).toContain(agentId);
    expect((await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${token.id}`)).status).toBe(204);
    const replacement = await agentToken(cp, agentId);
    (await connect(replacement.token, agentId)).close();
  });

  it('refuses an agent id on a token without the agent scope, or a malformed one (400)', async () => {
    for (const body of [
      { name: 'x', scopes: ['viewer'], agentId: 'v-1' },
      { name: 'x', scopes: ['agent'], agentId: 'has spaces' },
      { name: 'x', scopes: ['agent'], agentId: '' },
    ]) {
      const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toBe('request/invalid');
      expect(response.body.message).toContain('agentId');
    }
  });
});
