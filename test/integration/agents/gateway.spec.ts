/**
 * The agent gateway of the real control plane (child process, PostgreSQL, Redis) with real
 * socket.io-client agents: handshake authentication, catch-up by revision, live pushes on
 * activation and shadow changes (versions made by real pushes to the embedded repository),
 * acks and rejections in GET /v1/agents, and the fleet view.
 */
import {
  verifyBundle,
  verifyShadowCleared,
  type BundleJwks,
  type BundlePayload,
  type ShadowClearedMessage,
} from '@stepgate/protocol';
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
  tempDirs,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from '../control-plane/support.js';
import {
  agentTokenFor,
  connectAgent,
  getOk,
  receivesNothing,
  refusedConnection,
  waitForAgent,
  type FakeAgent,
} from './support.js';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let agentToken: string;
let viewerToken: string;
let operatorToken: string;
let work: string;
let v1: Version;
const open: FakeAgent[] = [];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  [agentToken, viewerToken, operatorToken] = (await Promise.all(
    [
      ['fleet-agent', ['agent']],
      ['dashboard', ['viewer']],
      ['release-manager', ['operator']],
    ].map(
      async ([name, scopes]) => (await createToken(cp, name as string, scopes as string[])).token,
    ),
  )) as [string, string, string];
  work = temp.make('agents-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  v1 = await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active);
}, 360_000);

afterAll(async () => {
  for (const agent of open) agent.close();
  await cp?.destroy();
  temp.cleanup();
});

async function agent(options: Parameters<typeof connectAgent>[1]): Promise<FakeAgent> {
  const connected = await connectAgent(cp, options);
  open.push(connected);
  return connected;
}

async function keys(): Promise<BundleJwks> {
  return (await api(cp.url, undefined, 'GET', '/v1/keys')).body as BundleJwks;
}

async function verified(message: { jws: string; revision: number; kind: string }) {
  const payload: BundlePayload = await verifyBundle(message.jws, await keys());
  expect(payload.revision).toBe(message.revision);
  expect(payload.kind).toBe(message.kind);
  return payload;
}

async function pushNewVersion(tag: string): Promise<Version> {
  const sha = await commit(work, validPolicyFiles(tag), `Add ${tag}`);
  const push = await git(['push', 'origin', 'main'], work);
  if (push.status !== 0) throw new Error(push.stderr);
  return waitForVersion(cp, sha, (v) => v.status === 'ready');
}

async function fleet() {
  return getOk(cp, viewerToken, '/v1/fleet');
}

describe('handshake', () => {
  it('refuses a wrong token, logs it without the token, and sends nothing', async () => {
    const wrong = 'sg_definitely-not-a-real-token-0123456789';
    const refused = await refusedConnection(cp, { token: wrong, agentId: 'intruder' });
    expect(refused.code).toBe('auth/unauthenticated');
    expect(refused.message).toMatch(/invalid or revoked token/);
    expect(refused.received).toEqual([]);
    await waitFor('the refusal in the log', async () =>
      cp.output().includes('agent connection refused'),
    );
    expect(cp.output()).toContain('intruder');
    expect(cp.output()).not.toContain(wrong);
    // A refused agent is not registered.
    expect((await getOk(cp, viewerToken, '/v1/agents')).agents).toEqual([]);
  });

  it('refuses a token without the agent scope', async () => {
    const refused = await refusedConnection(cp, { token: viewerToken });
    expect(refused.code).toBe('auth/forbidden');
  });

  it('refuses a malformed handshake (missing token, bad agent id, unknown field)', async () => {
    const cases = [
      { agentId: 'a1' },
      { token: agentToken, agentId: 'has spaces' },
      { token: agentToken, agentId: 'a1', surprise: true },
      { token: agentToken, agentId: 'a1', revisions: { active: -1 } },
    ];
    const codes = await Promise.all(
      cases.map(async (rawAuth) => (await refusedConnection(cp, { token: '', rawAuth })).code),
    );
    expect(codes).toEqual([
      'auth/unauthenticated',
      'request/invalid',
      'request/invalid',
      'request/invalid',
    ]);
  });
});

describe('distribution', () => {
  let first: FakeAgent;
  let activeRevision: number;

  it('sends keys and the active bundle to a new agent; it verifies', async () => {
    first = await agent({
      token: await agentTokenFor(cp, 'web-1'),
      agentId: 'web-1',
      labels: { env: 'prod' },
    });
    const jwks = await first.next('keys');
    expect(jwks.keys.length).toBeGreaterThan(0);
    const bundle = await first.next('bundle');
    const payload = await verified(bundle);
    expect(bundle.kind).toBe('active');
    expect(payload.version.number).toBe(v1.number);
    // The JWKS sent over the socket verifies it too.
    await expect(verifyBundle(bundle.jws, jwks as unknown as BundleJwks)).resolves.toBeDefined();
    activeRevision = bundle.revision;
    // No shadow is set, so nothing else.
    expect(await receivesNothing(first, 300)).toEqual([]);
  });

  it('records the connection; the ack moves the revision and converges the fleet', async () => {
    const before = await waitForAgent(
      cp,
      viewerToken,
      'web-1',
      (row) => row.status === 'connected',
    );
    expect(before).toMatchObject({
      labels: { env: 'prod' },
      activeRevision: null,
      lastAckAt: null,
    });
    const notYet = await fleet();
    expect(notYet).toMatchObject({
      activeRevision,
      agents: { total: 1, connected: 1 },
      converged: false,
      behind: [{ id: 'web-1', activeRevision: null }],
    });

    first.ack('active', activeRevision);
    const row = await waitForAgent(
      cp,
      viewerToken,
      'web-1',
      (r) => r.activeRevision === activeRevision,
    );
    expect(row.lastAckAt).not.toBeNull();
    const converged = await fleet();
    expect(converged).toMatchObject({
      revision: activeRevision,
      activeRevision,
      agents: { total: 1, connected: 1 },
      byRevision: [{ revision: activeRevision, count: 1 }],
      converged: true,
      behind: [],
    });
    expect(converged.propagation.seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(converged.propagation.lastAckAt)).toBeGreaterThanOrEqual(
      Date.parse(converged.propagation.activatedAt),
    );
  });

  it('an agent reconnecting with the current revision receives nothing but keys', async () => {
    const again = await agent({
      token: await agentTokenFor(cp, 'web-2'),
      agentId: 'web-2',
      revisions: { active: activeRevision },
    });
    await again.next('keys');
    expect(await receivesNothing(again, 800)).toEqual([]);
    const row = await waitForAgent(cp, viewerToken, 'web-2', (r) => r.status === 'connected');
    expect(row.activeRevision).toBe(activeRevision);
    expect((await fleet()).converged).toBe(true);
    again.close();
    await waitForAgent(cp, viewerToken, 'web-2', (r) => r.status === 'disconnected');
  });

  it('an agent holding an older revision gets the current bundle', async () => {
    const stale = await agent({
      token: await agentTokenFor(cp, 'web-3'),
      agentId: 'web-3',
      revisions: { active: 0 },
    });
    const bundle = await stale.next('bundle');
    expect(bundle).toMatchObject({ kind: 'active', revision: activeRevision });
    stale.close();
  });

  it('a git push is activated and pushed at once to connected agents', async () => {
    first.skipAll();
    const v2 = await pushNewVersion('agents-v2');
    const bundle = await first.next(
      'bundle',
      (b) => b.kind === 'active' && b.revision > activeRevision,
    );
    const payload = await verified(bundle);
    expect(payload.version.number).toBe(v2.number);
    expect(payload.rollback).toBe(false);
    activeRevision = bundle.revision;
    // Until it acks, the fleet is not converged on the new revision.
    const lagging = await fleet();
    expect(lagging).toMatchObject({ activeRevision, converged: false });
    first.ack('active', activeRevision);
    await waitFor('the fleet to converge', async () => (await fleet()).converged === true);
  });

  it('POST /v1/versions/:n/activate pushes that version immediately', async () => {
    first.skipAll();
    const started = Date.now();
    const response = await api(
      cp.url,
      operatorToken,
      'POST',
      `/v1/versions/${v1.number}/activate`,
      {
        reason: 'agents suite',
      },
    );
    expect(response.status).toBe(200);
    const bundle = await first.next('bundle', (b) => b.kind === 'active');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(bundle.revision).toBe(response.body.revision);
    expect((await verified(bundle)).version.number).toBe(v1.number);
    activeRevision = bundle.revision;
    first.ack('active', activeRevision);
    await waitFor('the fleet to converge', async () => {
      const view = await fleet();
      return view.converged && view.activeRevision === activeRevision;
    });
  });

  it('shadow set pushes a shadow bundle; clear pushes shadow:cleared', async () => {
    first.skipAll();
    const candidate = await pushNewVersion('agents-shadow');
    // The push auto-activated it; go back to v1 so the candidate can run in shadow.
    await first.next('bundle', (b) => b.kind === 'active');
    const back = await api(cp.url, operatorToken, 'POST', `/v1/versions/${v1.number}/activate`, {});
    expect(back.status).toBe(200);
    const reactivated = await first.next('bundle', (b) => b.kind === 'active');
    activeRevision = reactivated.revision;
    first.ack('active', activeRevision);

    const set = await api(
      cp.url,
      operatorToken,
      'POST',
      `/v1/versions/${candidate.number}/shadow`,
      {
        reason: 'dry run',
      },
    );
    expect(set.status).toBe(200);
    const shadow = await first.next('bundle', (b) => b.kind === 'shadow');
    expect(shadow.revision).toBe(set.body.revision);
    const payload = await verified(shadow);
    expect(payload.version.number).toBe(candidate.number);
    first.ack('shadow', shadow.revision);
    await waitForAgent(cp, viewerToken, 'web-1', (r) => r.shadowRevision === shadow.revision);
    // A shadow change does not resend the (unchanged) active bundle, and the fleet stays converged.
    expect(
      first.events.filter((e) => e.name === 'bundle' && e.payload.revision === set.body.revision),
    ).toHaveLength(1);
    const view = await fleet();
    expect(view).toMatchObject({
      revision: set.body.revision,
      activeRevision,
      shadowRevision: set.body.revision,
      converged: true,
    });

    // A newly connecting agent gets both.
    const late = await agent({ token: await agentTokenFor(cp, 'web-4'), agentId: 'web-4' });
    const kinds = [(await late.next('bundle')).kind, (await late.next('bundle')).kind].sort();
    expect(kinds).toEqual(['active', 'shadow']);
    late.close();

    const clear = await api(cp.url, operatorToken, 'DELETE', '/v1/shadow', { reason: 'done' });
    expect(clear.status).toBe(200);
    const cleared = await first.next('shadow:cleared');
    expect(cleared.revision).toBe(clear.body.revision);
    // Signed: agents refuse an unsigned or forged clear.
    expect(await verifyShadowCleared(cleared as ShadowClearedMessage, await keys())).toBe(
      clear.body.revision,
    );
    await waitForAgent(cp, viewerToken, 'web-1', (r) => r.shadowRevision === null);

    // An agent that still holds the old shadow is told on connect.
    const holder = await agent({
      token: await agentTokenFor(cp, 'web-5'),
      agentId: 'web-5',
      revisions: { active: activeRevision, shadow: shadow.revision },
    });
    const onConnect = (await holder.next('shadow:cleared')) as ShadowClearedMessage;
    expect(await verifyShadowCleared(onConnect, await keys())).toBe(clear.body.revision);
    expect(holder.events.filter((e) => e.name === 'bundle')).toEqual([]);
    await waitForAgent(cp, viewerToken, 'web-5', (r) => r.shadowRevision === null);
    holder.close();
  });

  it('records a rejected bundle and shows it in GET /v1/agents', async () => {
    first.socket.emit('bundle:rejected', {
      kind: 'active',
      revision: activeRevision,
      reason: 'signature invalid',
    });
    const row = await waitForAgent(cp, viewerToken, 'web-1', (r) => r.lastRejection !== null);
    expect(row.lastRejection).toBe(`active r${activeRevision}: signature invalid`);
    // A malformed message is ignored, not fatal.
    first.socket.emit('bundle:ack', { kind: 'nope' } as never);
    expect(first.socket.connected).toBe(true);
  });

  it('a disconnected agent is shown as such and leaves the convergence count', async () => {
    first.close();
    await waitForAgent(cp, viewerToken, 'web-1', (r) => r.status === 'disconnected');
    const view = await fleet();
    expect(view.agents.connected).toBe(0);
    expect(view.converged).toBe(false);
    const connectedOnly = await getOk(cp, viewerToken, '/v1/agents?status=connected');
    expect(connectedOnly.agents).toEqual([]);
  });
});

describe('admin API', () => {
  it('needs viewer or operator; agent tokens and bad queries are refused', async () => {
    expect((await api(cp.url, undefined, 'GET', '/v1/agents')).status).toBe(401);
    expect((await api(cp.url, agentToken, 'GET', '/v1/fleet')).status).toBe(403);
    expect((await api(cp.url, operatorToken, 'GET', '/v1/fleet')).status).toBe(200);
    const bad = await api(cp.url, viewerToken, 'GET', '/v1/agents?status=sleeping');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('request/invalid');
    expect((await api(cp.url, viewerToken, 'GET', '/v1/agents?color=red')).status).toBe(400);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await api(cp.url, undefined, 'GET', '/docs')).body;
    for (const path of [
      '/v1/agents',
      '/v1/fleet',
      '/v1/decisions',
      '/v1/decisions/stats',
      '/v1/shadow/report',
    ])
      expect(doc.paths[path]?.get, path).toBeDefined();
  });
});
