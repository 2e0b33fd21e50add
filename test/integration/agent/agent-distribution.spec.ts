/**
 * The real agent process against a fake control plane: bundle distribution (acks, swaps,
 * refusals, rollback, shadow, key pinning) and the decision APIs (native, AuthZEN,
 * reverse-proxy check).
 */
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED, DENIED, GATEWAY_POLICY, MASKED_SETTINGS, STEP_UP } from './fixtures.js';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  startAgentProcess,
  tamper,
  tempDir,
  waitFor,
  type AgentProcess,
  type BundleSigner,
} from './support.js';

let signer: BundleSigner;
let keysFile: string;
const dirs: string[] = [];
const running: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];

const EXAMPLES = examplePolicies();
const WITH_GATEWAY = examplePolicies({ 'gateway.yaml': GATEWAY_POLICY }, MASKED_SETTINGS);

beforeAll(async () => {
  await ensureAgentBuilt();
  signer = await bundleSigner();
  const dir = tempDir('keys');
  dirs.push(dir);
  keysFile = join(dir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
}, 300_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.kill()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
});

afterAll(() => cleanup(...dirs));

async function plane(): Promise<FakeControlPlane> {
  // Signs shadow clears as the real control plane does (agents refuse unsigned ones).
  const started = await FakeControlPlane.start(signer.jwks, undefined, signer.key);
  planes.push(started);
  return started;
}

async function agent(
  cp: FakeControlPlane,
  env: Record<string, string> = {},
): Promise<AgentProcess> {
  const cacheDir = tempDir('cache');
  dirs.push(cacheDir);
  const started = await startAgentProcess(
    {
      STEPGATE_URL: cp.url,
      STEPGATE_AGENT_TOKEN: cp.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      STEPGATE_AGENT_ID: 'agent-under-test',
      STEPGATE_AGENT_LABELS: 'env=test,team=payments',
      ...env,
    },
    cacheDir,
  );
  running.push(started);
  return started;
}

async function revisionOf(url: string): Promise<number | undefined> {
  const ready = await call(url, 'GET', '/readyz');
  return ready.body.revision;
}

describe('bundle distribution', () => {
  it('announces itself, applies the bundle, acks it and decides with it', async () => {
    const cp = await plane();
    cp.publish('active', 1, await signer.sign(EXAMPLES, 1));
    const a = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);

    expect(cp.handshakes[0]).toMatchObject({
      token: cp.token,
      agentId: 'agent-under-test',
      labels: { env: 'test', team: 'payments' },
      revisions: {},
      agentVersion: expect.any(String),
    });
    expect(cp.acks[0]).toMatchObject({ kind: 'active', revision: 1 });
    expect(Date.parse(cp.acks[0]!.appliedAt)).not.toBeNaN();

    const ready = await call(a.url, 'GET', '/readyz');
    expect(ready).toMatchObject({
      status: 200,
      body: { ready: true, revision: 1, connected: true },
    });

    const allow = await call(a.url, 'POST', '/v1/decide', ALLOWED);
    expect(allow.status).toBe(200);
    expect(allow.body).toMatchObject({
      effect: 'allow',
      revision: 1,
      reasons: [{ policy: 'api-access', rule: 'staff-outside-admin', effect: 'allow' }],
    });
    expect(allow.body.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(allow.body.durationNs).toBeGreaterThan(0);
    expect((await call(a.url, 'POST', '/v1/decide', DENIED)).body).toMatchObject({
      effect: 'deny',
      reasons: [
        { policy: 'api-geo-restrictions', rule: 'blocked-country', message: expect.any(String) },
      ],
    });
    expect((await call(a.url, 'POST', '/v1/decide', STEP_UP)).body).toMatchObject({
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 900 },
      reasons: [{ policy: 'secrets-read', rule: 'fresh-mfa' }],
    });

    // The cache holds the verified bundle, readable by this user only.
    const cached = statSync(join(a.cacheDir, 'active.bundle.jws'));
    expect(cached.mode & 0o777).toBe(0o600);

    const metrics = await call(a.url, 'GET', '/metrics');
    expect(metrics.body).toContain('stepgate_agent_bundle_revision{kind="active"} 1');
    expect(metrics.body).toContain('stepgate_agent_connected 1');
    expect(metrics.body).toMatch(/stepgate_agent_decisions_total\{effect="step_up"\} 1/);
    expect(metrics.body).toContain('stepgate_agent_decision_duration_seconds_bucket');
    expect(metrics.body).toContain('stepgate_agent_bundle_age_seconds');
  });

  it('swaps in newer bundles, refuses older and tampered ones and reports them, takes a signed rollback', async () => {
    const cp = await plane();
    cp.publish('active', 1, await signer.sign(EXAMPLES, 1));
    const a = await agent(cp);
    await waitFor('revision 1', async () => (await revisionOf(a.url)) === 1);
    expect(
      (await call(a.url, 'GET', '/v1/authz/http', undefined, { 'x-original-uri': '/public/x' }))
        .status,
    ).toBe(403);

    cp.publish('active', 2, await signer.sign(WITH_GATEWAY, 2));
    await waitFor('revision 2', async () => (await revisionOf(a.url)) === 2);
    // The agent serves a revision before its ack has crossed the socket: wait for the ack.
    await expect.poll(() => cp.acks.map((ack) => ack.revision)).toEqual([1, 2]);
    expect(
      (await call(a.url, 'GET', '/v1/authz/http', undefined, { 'x-original-uri': '/public/x' }))
        .status,
    ).toBe(200);

    // A replayed older bundle, validly signed: refused and reported.
    cp.push('active', 1, await signer.sign(EXAMPLES, 1));
    await waitFor('the refusal of revision 1', () => cp.rejections.length === 1);
    expect(cp.rejections[0]).toMatchObject({
      kind: 'active',
      revision: 1,
      reason: expect.stringMatching(/older/),
    });

    // A tampered bundle: refused and reported.
    cp.push('active', 3, tamper(await signer.sign(EXAMPLES, 3)));
    await waitFor('the refusal of revision 3', () => cp.rejections.length === 2);
    expect(cp.rejections[1]).toMatchObject({
      kind: 'active',
      revision: 3,
      reason: expect.stringMatching(/signature/),
    });

    // Signed by a key nobody trusts.
    const rogue = await bundleSigner();
    cp.push('active', 4, await rogue.sign(EXAMPLES, 4));
    await waitFor('the refusal of revision 4', () => cp.rejections.length === 3);
    expect(cp.rejections[2]?.reason).toMatch(/unknown key/);
    expect(await revisionOf(a.url)).toBe(2);

    // A rollback is a newer, signed revision pointing at older policies.
    cp.publish('active', 5, await signer.sign(EXAMPLES, 5, { rollback: true }));
    await waitFor('revision 5', async () => (await revisionOf(a.url)) === 5);
    expect(
      (await call(a.url, 'GET', '/v1/authz/http', undefined, { 'x-original-uri': '/public/x' }))
        .status,
    ).toBe(403);
    expect(a.output()).toContain('"rollback":true');
    expect(a.alive()).toBe(true);
  });

  it('evaluates a shadow bundle beside the active one, answers with divergences and logs every comparison', async () => {
    const cp = await plane();
    cp.publish('active', 3, await signer.sign(EXAMPLES, 3));
    cp.publish('shadow', 4, await signer.sign(WITH_GATEWAY, 4, { kind: 'shadow' }));
    const a = await agent(cp);
    await waitFor('both acks', () => cp.acks.length === 2);

    const proxied = {
      principal: { id: 'anonymous' },
      action: 'http:GET',
      resource: { kind: 'http', id: '/public/page' },
    };
    const differs = await call(a.url, 'POST', '/v1/decide', proxied);
    expect(differs.body).toMatchObject({
      effect: 'deny',
      revision: 3,
      shadow: { effect: 'allow', revision: 4 },
    });
    const same = await call(a.url, 'POST', '/v1/decide', ALLOWED);
    expect(same.body.shadow).toBeUndefined();

    await waitFor('the decision records', () => cp.records().length >= 2);
    const records = cp.records();
    expect(records.find((r) => r.decisionId === differs.body.decisionId)?.shadow).toEqual({
      effect: 'allow',
      revision: 4,
      reasons: [{ policy: 'gateway', rule: 'public', effect: 'allow' }],
    });
    // The answer omits an agreeing shadow; the log keeps it so reports can count agreement.
    expect(records.find((r) => r.decisionId === same.body.decisionId)?.shadow).toMatchObject({
      effect: 'allow',
      revision: 4,
    });

    await cp.clearShadow(5);
    await waitFor(
      'the shadow to go',
      async () => (await call(a.url, 'GET', '/readyz')).body.shadowRevision === undefined,
    );
    expect((await call(a.url, 'POST', '/v1/decide', proxied)).body.shadow).toBeUndefined();
  });

  it('pins the control-plane keys on first use and keeps them for the next start', async () => {
    const cp = await plane();
    cp.publish('active', 1, await signer.sign(EXAMPLES, 1));
    const a = await agent(cp, { STEPGATE_TRUSTED_KEYS: '' });
    await waitFor('the ack', () => cp.acks.length === 1);
    const pinned = 'pinned the bundle-signing keys the control plane sent (trust on first use)';
    await waitFor('the pinning to be logged', () => a.output().includes(pinned));
    expect(a.output()).toContain(pinned);
    const pinnedFile = join(a.cacheDir, 'trusted-keys.json');
    expect(JSON.parse(readFileSync(pinnedFile, 'utf8'))).toEqual(signer.jwks);
    expect(statSync(pinnedFile).mode & 0o777).toBe(0o600);

    // A control plane that now sends a different key under the pinned kid cannot replace it.
    await a.stop();
    const impostor = await bundleSigner();
    cp.jwks = { keys: [{ ...impostor.jwks.keys[0]!, kid: signer.kid }] };
    cp.publish('active', 2, await impostor.sign(EXAMPLES, 2, {}));
    const again = await startAgentProcess(
      { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: cp.token },
      a.cacheDir,
    );
    running.push(again);
    await waitFor('the refusal', () => cp.rejections.length === 1);
    // The refusal reaches the control plane over the socket before the agent's log line
    // reaches this process through its stdout pipe: wait for the line too.
    const refusal = 'the control plane sent a different key under a pinned kid; refused';
    await waitFor('the refusal to be logged', () => again.output().includes(refusal));
    expect(again.output()).toContain(refusal);
    expect(await revisionOf(again.url)).toBe(1);
  });

  it('is refused with a bad token and keeps serving by its fail mode', async () => {
    const cp = await plane();
    cp.publish('active', 1, await signer.sign(EXAMPLES, 1));
    const a = await agent(cp, { STEPGATE_AGENT_TOKEN: 'wrong-token' });
    await waitFor('the refusal to be logged', () =>
      a.output().includes('cannot connect to the control plane'),
    );
    expect(cp.handshakes).toEqual([]);
    expect((await call(a.url, 'POST', '/v1/decide', ALLOWED)).body).toMatchObject({
      effect: 'deny',
      failReason: 'no_bundle',
    });
    expect((await call(a.url, 'GET', '/readyz')).status).toBe(503);
  });
});

describe('decision APIs', () => {
  let cp: FakeControlPlane;
  let a: AgentProcess;

  beforeAll(async () => {
    cp = await FakeControlPlane.start(signer.jwks);
    cp.publish('active', 7, await signer.sign(WITH_GATEWAY, 7));
    const cacheDir = tempDir('cache');
    dirs.push(cacheDir);
    a = await startAgentProcess(
      { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: cp.token, STEPGATE_TRUSTED_KEYS: keysFile },
      cacheDir,
    );
    await waitFor('revision 7', async () => (await revisionOf(a.url)) === 7);
  });

  afterAll(async () => {
    await a?.kill();
    await cp?.stop();
  });

  it('answers an AuthZEN evaluation with the mapping of DESIGN', async () => {
    const allow = await call(
      a.url,
      'POST',
      '/access/v1/evaluation',
      {
        subject: {
          type: 'user',
          id: 'erin',
          properties: { groups: ['staff'], email: 'erin@example.com' },
        },
        action: { name: 'http:GET' },
        resource: { type: 'http', id: '/api/orders' },
        context: { ip: '192.0.2.10', geo: { country: 'DE' } },
      },
      { 'x-request-id': 'req-42' },
    );
    expect(allow.status).toBe(200);
    expect(allow.headers.get('x-request-id')).toBe('req-42');
    expect(allow.body).toEqual({
      decision: true,
      context: { id: expect.any(String), effect: 'allow', revision: 7 },
    });

    const stepUp = await call(a.url, 'POST', '/access/v1/evaluation', {
      subject: { type: 'user', id: 'paul', properties: { groups: ['payments'] } },
      action: { name: 'secrets:read' },
      resource: { type: 'secret', id: 'payments/stripe/api-key' },
    });
    expect(stepUp.body).toMatchObject({
      decision: false,
      context: {
        effect: 'step_up',
        step_up: {
          level: 'mfa',
          acr_values:
            'urn:stepgate:mfa http://schemas.openid.net/pape/policies/2007/06/multi-factor',
          max_age: 900,
        },
        reason_user: { en: 'Reading secrets needs MFA within the last 15 minutes.' },
        reason_admin: { en: expect.stringContaining('secrets-read/fresh-mfa') },
      },
    });

    // The subject's other properties are principal attributes; masked ones never leave the agent.
    await waitFor('the records', () =>
      cp.records().some((r) => r.decisionId === allow.body.context.id),
    );
    const record = cp.records().find((r) => r.decisionId === allow.body.context.id);
    expect(record?.input).toEqual({
      principal: { id: 'erin', groups: ['staff'], attributes: {} },
      action: 'http:GET',
      resource: { kind: 'http', id: '/api/orders' },
      context: { geo: { country: 'DE' } },
    });
  });

  it('answers AuthZEN evaluations with defaults, per-item errors and each semantic', async () => {
    const body = {
      subject: { type: 'user', id: 'erin', properties: { groups: ['staff'] } },
      action: { name: 'http:GET' },
      context: { geo: { country: 'DE' } },
      evaluations: [
        { resource: { type: 'http', id: '/api/orders' } },
        { resource: { type: 'http', id: '/api/orders' }, context: { geo: { country: 'KP' } } },
        { resource: { type: 'http' } },
        {
          subject: { type: 'user', id: 'paul', properties: { groups: ['payments'] } },
          action: { name: 'secrets:read' },
          resource: { type: 'secret', id: 'payments/x' },
        },
      ],
    };
    const all = await call(a.url, 'POST', '/access/v1/evaluations', body);
    expect(all.status).toBe(200);
    expect(all.body.evaluations.map((e: { decision: boolean }) => e.decision)).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(all.body.evaluations[1].context.effect).toBe('deny');
    expect(all.body.evaluations[2].context.error).toEqual({
      status: 400,
      message: 'evaluations[2]: resource.id must be a string',
    });
    expect(all.body.evaluations[3].context.step_up).toMatchObject({ level: 'mfa' });

    const denyFirst = await call(a.url, 'POST', '/access/v1/evaluations', {
      ...body,
      options: { evaluations_semantic: 'deny_on_first_deny' },
    });
    expect(denyFirst.body.evaluations).toHaveLength(2);
    const permitFirst = await call(a.url, 'POST', '/access/v1/evaluations', {
      ...body,
      options: { evaluations_semantic: 'permit_on_first_permit' },
    });
    expect(permitFirst.body.evaluations).toHaveLength(1);

    // Without an evaluations array it answers like the single endpoint.
    const single = await call(a.url, 'POST', '/access/v1/evaluations', {
      subject: body.subject,
      action: body.action,
      resource: { type: 'http', id: '/api/orders' },
    });
    expect(single.body).toMatchObject({ decision: true });

    expect(
      (
        await call(a.url, 'POST', '/access/v1/evaluations', {
          ...body,
          options: { evaluations_semantic: 'some' },
        })
      ).status,
    ).toBe(400);
  });

  it('checks proxied requests: nginx, Traefik and Envoy conventions', async () => {
    // nginx auth_request
    const allowed = await call(a.url, 'GET', '/v1/authz/http', undefined, {
      'x-original-uri': '/public/docs/index.html?lang=en',
      'x-original-method': 'GET',
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-stepgate-principal')).toBe('anonymous');
    expect(allowed.headers.get('x-stepgate-decision-id')).toMatch(/^[0-9a-f-]{36}$/);

    const challenged = await call(a.url, 'GET', '/v1/authz/http', undefined, {
      'x-original-uri': '/account/settings',
      'x-original-method': 'POST',
    });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Account settings need MFA within the last 10 minutes.", acr_values="urn:stepgate:mfa http://schemas.openid.net/pape/policies/2007/06/multi-factor", max_age=600',
    );
    expect(challenged.body).toMatchObject({
      error: 'auth/step_up_required',
      require: { level: 'mfa', maxAge: 600 },
    });

    const denied = await call(a.url, 'GET', '/v1/authz/http', undefined, {
      'x-original-uri': '/admin/users',
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: 'auth/forbidden' });

    // Dot segments cannot walk out of the protected prefix.
    expect(
      (
        await call(a.url, 'GET', '/v1/authz/http', undefined, {
          'x-original-uri': '/public/../admin/users',
        })
      ).status,
    ).toBe(403);

    // Traefik ForwardAuth: always GET, the original in X-Forwarded-*.
    expect(
      (
        await call(a.url, 'GET', '/v1/authz/http', undefined, {
          'x-forwarded-method': 'DELETE',
          'x-forwarded-uri': '/account/me',
          'x-forwarded-for': '198.51.100.1, 10.0.0.2',
        })
      ).status,
    ).toBe(401);

    // Envoy ext_authz HTTP: original method, original path appended to the prefix.
    expect((await call(a.url, 'POST', '/v1/authz/http/public/upload?x=1', 'payload')).status).toBe(
      200,
    );
    expect((await call(a.url, 'PUT', '/v1/authz/http/account/me')).status).toBe(401);
    // ...where headers a client could have set are not consulted.
    expect(
      (
        await call(a.url, 'PUT', '/v1/authz/http/account/me', undefined, {
          'x-original-uri': '/public/x',
        })
      ).status,
    ).toBe(401);

    await waitFor('the proxy records', () =>
      cp.records().some((r) => r.decisionId === allowed.headers.get('x-stepgate-decision-id')),
    );
    const record = cp
      .records()
      .find((r) => r.decisionId === allowed.headers.get('x-stepgate-decision-id'));
    expect(record).toMatchObject({
      principal: 'anonymous',
      action: 'http:GET',
      resource: { kind: 'http', id: '/public/docs/index.html' },
    });
  });
});
