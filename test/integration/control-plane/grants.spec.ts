/**
 * Grants over the admin API and the agent socket of the real control plane: a grant issued by
 * a completed approval (two approvers) is listed, verifies against the published keys, reaches
 * a connected agent at once and is in the full set a new agent receives; revocation removes it
 * everywhere and is audited.
 */
import {
  AGENT_NAMESPACE,
  verifyGrant,
  verifyGrantRemovals,
  type AgentToServerEvents,
  type GrantsMessage,
  type ServerToAgentEvents,
} from '@stepgate/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { agentTokenFor } from '../agents/support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs, waitFor } from './support.js';

/**
 * An approval request takes its number of approvals from the active policies: these ask for
 * two approvers on it:deploy and one on it:apply (actions no example policy targets).
 */
const APPROVALS_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: it-grant-approvals
target:
  actions: ["it:deploy", "it:apply"]
rules:
  - name: two-approvers
    effect: step_up
    when: action == "it:deploy"
    require: { approvals: 2 }
  - name: one-approver
    effect: step_up
    when: action == "it:apply"
    require: { approvals: 1 }
  - name: everyone
    effect: allow
`;
const temp = tempDirs();

let cp: ControlPlaneProcess;
const tokens: Record<string, string> = {};
const agents: GrantsAgent[] = [];

/** A fake agent that records every `grants` message it receives. */
interface GrantsAgent {
  socket: Socket<ServerToAgentEvents, AgentToServerEvents>;
  messages: GrantsMessage[];
}

async function connectAgent(agentId: string, to = cp): Promise<GrantsAgent> {
  // A token is one agent's identity: each agent here has its own.
  const token = await agentTokenFor(to, agentId);
  const socket = io(`${to.url}${AGENT_NAMESPACE}`, {
    auth: { token, agentId, labels: {}, revisions: {} },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  }) as Socket<ServerToAgentEvents, AgentToServerEvents>;
  const agent: GrantsAgent = { socket, messages: [] };
  // Listening before the connection completes, so the message sent on connect is not missed.
  socket.on('grants', (message) => agent.messages.push(message));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  agents.push(agent);
  return agent;
}

async function nextMessage(
  agent: GrantsAgent,
  match: (message: GrantsMessage) => boolean,
): Promise<GrantsMessage> {
  let found: GrantsMessage | undefined;
  await waitFor(
    'a matching grants message',
    () => {
      found = agent.messages.find(match);
      return found !== undefined;
    },
    10_000,
    20,
  );
  return found!;
}

async function token(name: string, scopes: string[], subject: string): Promise<string> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name,
    scopes,
    subject,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.token as string;
}

async function keys() {
  return (await api(cp.url, undefined, 'GET', '/v1/keys')).body;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  const work = temp.make('grants');
  await cloneEmbedded(cp, work);
  await pushPolicies(cp, work, { 'it/grant-approvals.yaml': APPROVALS_POLICY }, 'Approvals');
  tokens.alice = await token('alice-laptop', ['viewer'], 'alice');
  tokens.bob = await token('bob-approver', ['approver'], 'bob');
  tokens.carol = await token('carol-approver', ['approver'], 'carol');
  tokens.ops = await token('ops', ['operator'], 'olga');
  tokens.agent = await token('agent-1', ['agent'], 'agent-1');
}, 120_000);

afterAll(async () => {
  for (const agent of agents) agent.socket.disconnect();
  await cp?.destroy();
  temp.cleanup();
});

describe('grants from an approval, pushed to agents, revoked', () => {
  let grantId: string;
  let jws: string;
  let early: GrantsAgent;

  it('sends a connecting agent the full (empty) set', async () => {
    early = await connectAgent('early');
    const full = await nextMessage(early, (m) => m.full);
    expect(full).toMatchObject({ full: true, grants: [], revoked: [] });
    // What a full set removes is signed (agents refuse an unsigned one).
    const removals = await verifyGrantRemovals(full, await keys());
    expect([...(removals.current?.ids ?? ['missing'])]).toEqual([]);
  });

  it('issues one grant once two distinct approvers approve, and pushes it to the agent', async () => {
    const created = await api(cp.url, tokens.alice, 'POST', '/v1/approvals', {
      action: 'it:deploy',
      resource: { kind: 'environment', id: 'prod/billing' },
      reason: 'hotfix for invoice rounding',
      approvals: 2,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ requester: 'alice', status: 'pending', required: 2 });
    const id = created.body.id as string;

    const first = await api(cp.url, tokens.bob, 'POST', `/v1/approvals/${id}/approve`, {
      comment: 'looks right',
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending', grantId: null });

    const second = await api(cp.url, tokens.carol, 'POST', `/v1/approvals/${id}/approve`, {});
    expect(second.status).toBe(200);
    expect(second.body.status).toBe('approved');
    expect(second.body.approvals.map((a: { approver: string }) => a.approver)).toEqual([
      'bob',
      'carol',
    ]);
    grantId = second.body.grantId;
    expect(grantId).toMatch(/^[0-9a-f-]{36}$/);

    const pushed = await nextMessage(early, (m) => !m.full && m.grants.length > 0);
    expect(pushed.revoked).toEqual([]);
    expect(pushed.grants).toHaveLength(1);
    jws = pushed.grants[0]!;
    const claims = await verifyGrant(jws, await keys());
    expect(claims).toMatchObject({
      id: grantId,
      subject: 'alice',
      kind: 'approval',
      amr: [],
      approvals: ['bob', 'carol'],
      actions: ['it:deploy'],
      resources: ['prod/billing'],
      // An approval is for one resource, kind included.
      resourceKind: 'environment',
    });
    // Default lifetime 15 minutes.
    expect(Date.parse(claims.expiresAt) - Date.parse(claims.issuedAt)).toBe(15 * 60_000);
  });

  it('lists the grant for its subject with a JWS that verifies against /v1/keys', async () => {
    const listed = await api(cp.url, tokens.alice, 'GET', '/v1/grants');
    expect(listed.status).toBe(200);
    expect(listed.body.grants).toHaveLength(1);
    const [grant] = listed.body.grants;
    expect(grant).toMatchObject({
      id: grantId,
      subject: 'alice',
      method: 'approval',
      level: null,
      revokedAt: null,
      jws,
    });
    expect((await verifyGrant(grant.jws, await keys())).id).toBe(grantId);
    // Bob's own list is empty: grants are listed by the token's subject.
    expect((await api(cp.url, tokens.bob, 'GET', '/v1/grants')).body.grants).toEqual([]);
  });

  it("shows another subject's grants to operators only", async () => {
    const refused = await api(cp.url, tokens.bob, 'GET', '/v1/grants?subject=alice');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('auth/forbidden');
    const allowed = await api(cp.url, tokens.ops, 'GET', '/v1/grants?subject=alice');
    expect(allowed.status).toBe(200);
    expect(allowed.body.grants.map((g: { id: string }) => g.id)).toEqual([grantId]);
    const bad = await api(cp.url, tokens.ops, 'GET', '/v1/grants?all=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('request/invalid');
  });

  it('includes the grant in the full set a newly connecting agent receives', async () => {
    const late = await connectAgent('late');
    const full = await nextMessage(late, (m) => m.full);
    expect(full.grants).toEqual([jws]);
    const removals = await verifyGrantRemovals(full, await keys());
    expect([...(removals.current?.ids ?? [])]).toEqual([grantId]);
  });

  it('lets only the subject or an operator revoke, then removes it from agents at once', async () => {
    const notOwner = await api(cp.url, tokens.bob, 'DELETE', `/v1/grants/${grantId}`);
    expect(notOwner.status).toBe(403);
    const unknown = await api(
      cp.url,
      tokens.alice,
      'DELETE',
      '/v1/grants/00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('grant/not_found');

    const revoked = await api(cp.url, tokens.alice, 'DELETE', `/v1/grants/${grantId}`, {
      reason: 'deploy finished',
    });
    expect(revoked.status).toBe(204);
    const message = await nextMessage(early, (m) => m.revoked.length > 0);
    expect(message).toMatchObject({ full: false, grants: [], revoked: [grantId] });
    expect((await verifyGrantRemovals(message, await keys())).revoked).toEqual([grantId]);

    expect((await api(cp.url, tokens.alice, 'GET', '/v1/grants')).body.grants).toEqual([]);
    const all = await api(cp.url, tokens.alice, 'GET', '/v1/grants?all=true');
    expect(all.body.grants).toHaveLength(1);
    expect(all.body.grants[0].revokedAt).not.toBeNull();

    // Revoking again changes nothing and is not audited twice.
    expect((await api(cp.url, tokens.alice, 'DELETE', `/v1/grants/${grantId}`)).status).toBe(204);
    const audit = await api(cp.url, tokens.ops, 'GET', '/v1/audit?action=grant.revoke');
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]).toMatchObject({
      actor: 'token:alice-laptop',
      target: `grant:${grantId}`,
      reason: 'deploy finished',
    });

    const newest = await connectAgent('newest');
    expect((await nextMessage(newest, (m) => m.full)).grants).toEqual([]);
  });

  it('audits the issue without the signed grant in the details', async () => {
    const audit = await api(cp.url, tokens.ops, 'GET', '/v1/audit?action=grant.issue');
    expect(audit.body.events).toHaveLength(1);
    const [event] = audit.body.events;
    expect(event).toMatchObject({ actor: 'token:carol-approver', target: `grant:${grantId}` });
    expect(event.details).toMatchObject({ subject: 'alice', kind: 'approval' });
    expect(JSON.stringify(event.details)).not.toContain(jws.split('.')[2]);
  });
});

describe('across replicas', () => {
  let replica: ControlPlaneProcess;

  beforeAll(async () => {
    replica = await startControlPlane({}, { replicaOf: cp });
  }, 120_000);

  afterAll(async () => {
    await replica?.destroy();
  });

  it("reaches an agent held by another replica on issue and on an operator's revocation", async () => {
    const elsewhere = await connectAgent('on-replica', replica);
    await nextMessage(elsewhere, (m) => m.full);
    const created = await api(cp.url, tokens.alice, 'POST', '/v1/approvals', {
      action: 'it:apply',
      resource: { kind: 'workspace', id: 'prod/network' },
      reason: 'open the VPN range',
    });
    expect(created.status).toBe(201);
    const approved = await api(
      cp.url,
      tokens.bob,
      'POST',
      `/v1/approvals/${created.body.id}/approve`,
      {},
    );
    expect(approved.body.status).toBe('approved');
    const id = approved.body.grantId as string;
    const issued = await nextMessage(elsewhere, (m) => !m.full && m.grants.length > 0);
    expect((await verifyGrant(issued.grants[0]!, await keys())).id).toBe(id);

    // The operator revokes Alice's grant through the other replica than the one that issued it.
    expect((await api(replica.url, tokens.ops, 'DELETE', `/v1/grants/${id}`)).status).toBe(204);
    const revoked = await nextMessage(elsewhere, (m) => m.revoked.includes(id));
    expect(revoked.grants).toEqual([]);
    expect((await verifyGrantRemovals(revoked, await keys())).revoked).toEqual([id]);
  });
});
