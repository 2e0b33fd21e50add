/**
 * Issue 10, "Denial of service by grant globs", against the real control plane and a real
 * agent. The attack: a person with a viewer token and a factor elevates with four
 * 510-character `**a**a…b` resource globs; the grant reaches every agent; then one
 * `/v1/decide` naming that person with a 1 MB `resource.id` kept the agent busy for about 39 s,
 * `/healthz` included. Now the elevation is refused (400 naming the limit) and the oversized
 * request is refused (400 naming the field and the limit) on every decision API, the control
 * plane's `/v1/check` included, while `/healthz` keeps answering.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import { elevateWithTotp } from '../integration/control-plane/step-up-support.js';
import { ensureControlPlaneBuilt } from '../integration/control-plane/support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import { AgentProcess, api, call, killAllAgents, removeTempDirs, waitFor } from './support.js';

/** The glob: 510 characters, `**a` runs ending in `**b`, which no run of `a` matches. */
const EVIL_GLOB = `${'**a'.repeat(169)}**b`;
const MEGABYTE_ID = `prod/${'a'.repeat(1_000_000)}`;

/** A production ConfigMap edit by an SRE: a step-up, so the agent tries the person's grants. */
const request = (resourceId: string) => ({
  principal: { id: 'mallory', groups: ['sre', 'system:authenticated'] },
  action: 'k8s:update:configmaps',
  resource: { kind: 'k8s:configmaps', id: resourceId },
});

let cp: ControlPlaneProcess;
let agent: AgentProcess;
let mallory = '';
let greedy = '';

/** Polls /healthz every 50 ms until stopped; each probe must answer 200 within 5 s. */
function watchHealth(url: string) {
  const failures: string[] = [];
  let answered = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
        if (response.status === 200) answered++;
        else failures.push(`status ${response.status}`);
        await response.arrayBuffer();
      } catch (error) {
        failures.push((error as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { answered, failures };
    },
  };
}

async function post(url: string, path: string, body: string, timeoutMs = 30_000) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  cp = await startControlPlane();
  const tokens: Record<string, string> = {};
  for (const [subject, scopes] of [
    ['mallory', ['viewer']],
    ['greedy', ['viewer']],
    ['agent', ['agent']],
  ] as const) {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: `glob-dos-${subject}`,
      scopes,
      subject,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    tokens[subject] = created.body.token as string;
  }
  mallory = tokens.mallory as string;
  greedy = tokens.greedy as string;
  agent = await AgentProcess.start({ name: 'glob-dos', url: cp.url, token: tokens.agent! });
  let fleet: unknown;
  await waitFor(
    'the agent to enforce the active revision',
    async () => {
      fleet = (await api(cp.url, cp.adminToken, 'GET', '/v1/fleet')).body;
      const active = (fleet as { activeRevision: number | null }).activeRevision;
      const ready = await call(agent.url, 'GET', '/readyz');
      return active !== null && ready.status === 200 && ready.body.revision === active;
    },
    60_000,
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}\nfleet: ${JSON.stringify(fleet)}\nagent output:\n${agent.output().slice(-3000)}`,
    );
  });
  const decided = await agent.decide(request('prod/app-config'));
  if (decided.body?.effect !== 'step_up')
    throw new Error(`the set-up expects a step-up: ${JSON.stringify(decided.body)}`);
}, 300_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  removeTempDirs();
});

describe('denial of service by grant globs', () => {
  it('refuses an elevation with four 510-character **a**a…b globs, naming the limit', async () => {
    const attempt = elevateWithTotp(cp, mallory, { resources: Array(4).fill(EVIL_GLOB) });
    await expect(attempt).rejects.toThrow(/TOTP elevation: 400 .*resources\.0.*limit is 128/);
    const grants = await api(cp.url, mallory, 'GET', '/v1/grants');
    expect(grants.status).toBe(200);
    expect(grants.body.grants.filter((g: any) => g.resources.includes(EVIL_GLOB))).toEqual([]);
  });

  it('refuses too many patterns and too many brace alternatives at issue time', async () => {
    const many = await api(cp.url, mallory, 'POST', '/v1/elevation/totp', {
      code: '000000',
      actions: Array.from({ length: 17 }, (_, i) => `action-${i}`),
    });
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/actions: at most 16 patterns/);
    const braces = await api(cp.url, mallory, 'POST', '/v1/elevation/totp', {
      code: '000000',
      resources: ['{a,b,c,d}/{a,b,c,d}/{a,b,c}'],
    });
    expect(braces.status).toBe(400);
    expect(braces.body.message).toMatch(/48 brace alternatives; the limit is 32/);
  });

  it('answers a /v1/decide with a 1 MB resource.id with 400 naming the limit, /healthz answering throughout', async () => {
    const health = watchHealth(agent.url);
    const reply = await post(agent.url, '/v1/decide', JSON.stringify(request(MEGABYTE_ID)));
    const { answered, failures } = await health.stop();
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: 'request/invalid',
      message: 'resource.id is 1000005 characters long; the limit is 4096',
      details: { field: 'resource.id', limit: 4096 },
    });
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    // An id within the limit is still decided.
    expect((await agent.decide(request(`prod/${'a'.repeat(4000)}`))).body.effect).toBe('step_up');
  });

  it('applies the same limits on every agent API and on the control plane /v1/check', async () => {
    const long = 'x'.repeat(5000);
    const authzen = await post(
      agent.url,
      '/access/v1/evaluation',
      JSON.stringify({
        subject: { type: 'user', id: long },
        action: { name: 'read' },
        resource: { type: 'doc', id: '1' },
      }),
    );
    expect(authzen.status).toBe(400);
    expect(authzen.body.message).toBe('subject.id is 5000 characters long; the limit is 1024');

    const batch = await post(
      agent.url,
      '/access/v1/evaluations',
      JSON.stringify({
        subject: { type: 'user', id: 'mallory' },
        action: { name: 'read' },
        evaluations: [{ resource: { type: 'doc', id: long } }],
      }),
    );
    expect(batch.status).toBe(200);
    expect(batch.body.evaluations[0].context.error.message).toContain(
      'resource.id is 5000 characters long; the limit is 4096',
    );

    const envoy = await fetch(`${agent.url}/v1/authz/http/${long}`);
    expect(envoy.status).toBe(414);
    expect(((await envoy.json()) as any).details).toEqual({ field: 'resource.id', limit: 4096 });
    const nginx = await fetch(`${agent.url}/v1/authz/http`, {
      headers: { 'x-original-uri': `/${long}` },
    });
    expect(nginx.status).toBe(431);

    const admission = await post(
      agent.url,
      '/v1/k8s/admission',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u-1',
          operation: 'UPDATE',
          resource: { group: '', version: 'v1', resource: 'configmaps' },
          namespace: 'prod',
          name: 'app-config',
          userInfo: { username: 'mallory', groups: Array(1025).fill('g') },
        },
      }),
    );
    expect(admission.status).toBe(400);
    expect(admission.body.message).toMatch(/principal\.groups has 1025 entries; the limit is 1024/);

    // /v1/check takes the principal from mallory's token: the body names none.
    const { principal: _principal, ...checked } = request(`prod/${long}`);
    const check = await api(cp.url, mallory, 'POST', '/v1/check', checked);
    expect(check.status).toBe(400);
    expect(check.body.message).toContain('resource.id is 5005 characters long; the limit is 4096');
  });

  it('caps the elevation grants one person holds in force at 16', async () => {
    // Sixteen grants in force already (as sixteen elevations would leave them).
    const db = new pg.Client({ connectionString: cp.databaseUrl });
    await db.connect();
    try {
      for (let i = 0; i < 16; i++)
        await db.query(
          `INSERT INTO "grant" (id, subject, kind, method, amr, auth_time, approvals, actions, resources, jws, expires_at, created_by)
           VALUES ($1, 'greedy', 'elevation', 'totp', '{otp}', now(), '{}', '{**}', '{**}', 'not-a-jws', now() + interval '1 hour', 'token:greedy')`,
          [randomUUID()],
        );
    } finally {
      await db.end();
    }
    await expect(elevateWithTotp(cp, greedy, { resources: ['prod/**'] })).rejects.toThrow(
      /TOTP elevation: 409 .*grant\/too_many.*16 elevation grants in force/,
    );
  });
});
