/**
 * A real nginx (`/usr/sbin/nginx`, ngx_http_auth_request_module) in front of a small
 * application, asking the real agent process at `/v1/authz/http` about every request; tokens
 * from a real local OIDC-style issuer whose keys are inline in the bundle's stepgate.yaml.
 * Fails (never skips) without nginx: `.ci/run` installs it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type CompiledPolicySet } from '@stepgate/policy';
import { startLocalIssuer, type LocalIssuer } from '../../support/local-issuer.js';
import { SETTINGS } from '../../support/policy-fixtures.js';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  FakeControlPlane,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
} from '../agent/support.js';
import {
  startEchoUpstream,
  startNginx,
  type EchoUpstream,
  type NginxProcess,
} from './nginx-process.js';

const AUDIENCE = 'stepgate-nginx-suite';

function settings(issuer: LocalIssuer): string {
  return `${SETTINGS}issuers:
  - issuer: ${JSON.stringify(issuer.issuer)}
    audience: ${AUDIENCE}
    jwks: ${JSON.stringify(issuer.jwks)}
    claims: { principal: sub }
`;
}

const GATEWAY_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: gateway
target: { actions: ["http:*"] }
rules:
  - name: intranet-from-the-corporate-network
    effect: deny
    when: >-
      resource.id.startsWith("/intranet/")
      && !(has(context.ip) && context.ip.inCidr(["10.0.0.0/8"]))
    message: The intranet is reachable from the corporate network only.
  - name: intranet
    effect: allow
    when: resource.id.startsWith("/intranet/")
  - name: loopback-only
    effect: deny
    when: >-
      resource.id.startsWith("/local/")
      && !(has(context.ip) && context.ip.inCidr(["127.0.0.0/8"]))
  - name: local
    effect: allow
    when: resource.id.startsWith("/local/")
  - name: admin-closed
    effect: deny
    when: resource.id.startsWith("/admin/")
    message: The admin pages are closed.
  - name: account-mfa
    effect: step_up
    when: resource.id.startsWith("/account/")
    require: { level: mfa, maxAge: 10m }
  - name: public
    effect: allow
    when: resource.id.startsWith("/public/")
  - name: signed-in
    effect: allow
    when: principal.id != "anonymous"
`;

function policies(issuer: LocalIssuer): CompiledPolicySet {
  const result = compile([
    { path: 'stepgate.yaml', content: settings(issuer) },
    { path: 'gateway.yaml', content: GATEWAY_POLICY },
  ]);
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  return result.policySet;
}

let issuer: LocalIssuer;
let plane: FakeControlPlane;
let agent: AgentProcess;
let upstream: EchoUpstream;
let nginx: NginxProcess;
const dirs: string[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  issuer = await startLocalIssuer({ audience: AUDIENCE });
  const signer = await bundleSigner();
  const keysDir = tempDir('nginx-keys');
  const cacheDir = tempDir('nginx-cache');
  dirs.push(keysDir, cacheDir);
  const keysFile = join(keysDir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
  plane = await FakeControlPlane.start(signer.jwks);
  plane.publish('active', 1, await signer.sign(policies(issuer), 1));
  agent = await startAgentProcess(
    {
      STEPGATE_URL: plane.url,
      STEPGATE_AGENT_TOKEN: plane.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      STEPGATE_AGENT_ID: 'agent-behind-nginx',
      // nginx runs on this host: its forwarding headers (and only its) are believed.
      STEPGATE_TRUSTED_PROXIES: '127.0.0.1/32',
    },
    cacheDir,
  );
  await waitFor('revision 1 on the agent', async () => {
    const ready = await call(agent.url, 'GET', '/readyz');
    return ready.body?.revision === 1;
  });
  upstream = await startEchoUpstream();
  nginx = await startNginx(`127.0.0.1:${agent.port}`, upstream.address);
}, 300_000);

afterAll(async () => {
  await nginx?.stop();
  await upstream?.close();
  await agent?.kill();
  await plane?.stop();
  await issuer?.close();
  cleanup(...dirs);
});

/** A request through nginx; `token` goes in `Authorization: Bearer`. */
async function through(
  path: string,
  options: {
    method?: string;
    token?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
) {
  const before = upstream.seen.length;
  const response = await fetch(`${nginx.url}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    /** What the application received, if the request reached it. */
    reached: upstream.seen.slice(before),
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('nginx auth_request in front of an application', () => {
  it('lets an allowed anonymous request through, naming the principal and overriding a forged one', async () => {
    const result = await through('/public/hello?lang=en', {
      headers: { 'x-stepgate-principal': 'mallory' },
    });
    expect(result.status, nginx.errors()).toBe(200);
    expect(result.reached).toHaveLength(1);
    expect(result.reached[0]?.url).toBe('/public/hello?lang=en');
    expect(result.reached[0]?.headers['x-stepgate-principal']).toBe('anonymous');
  });

  it('passes a large request body to the application', async () => {
    // Past nginx's 16k buffer the body goes through its temp file, as in production.
    const body = 'x'.repeat(512 * 1024);
    const result = await through('/public/upload', { method: 'POST', body });
    expect(result.status, nginx.errors()).toBe(200);
    expect(result.reached[0]?.bodyBytes).toBe(body.length);
  });

  it('refuses a denied request with 403 without reaching the application, whatever X-Original-URI the client sends', async () => {
    const result = await through('/admin/users', {
      method: 'POST',
      headers: { 'x-original-uri': '/public/innocent', 'x-original-method': 'GET' },
    });
    expect(result.status).toBe(403);
    expect(result.reached).toHaveLength(0);
  });

  it('passes the principal of a verified token to the application', async () => {
    const token = await issuer.token({
      sub: 'alice',
      acr: 'urn:stepgate:pwd',
      auth_time: nowSeconds(),
    });
    const result = await through('/orders/42', { token });
    expect(result.status, `${result.text}\n${agent.output().slice(-2000)}`).toBe(200);
    expect(result.reached).toHaveLength(1);
    expect(result.reached[0]?.headers['x-stepgate-principal']).toBe('alice');
    expect(result.reached[0]?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("answers a step-up with 401 and the agent's RFC 9470 challenge, then lets a fresh MFA token through", async () => {
    const stale = await issuer.token({
      sub: 'alice',
      acr: 'urn:stepgate:pwd',
      auth_time: nowSeconds() - 3600,
    });
    const challenged = await through('/account/settings', { token: stale });
    expect(challenged.status, `${challenged.text}\n${agent.output().slice(-2000)}`).toBe(401);
    expect(challenged.reached).toHaveLength(0);
    const header = challenged.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain('error="insufficient_user_authentication"');
    expect(header).toContain('acr_values="urn:stepgate:mfa"');
    expect(header).toContain('max_age=600');
    // Exactly one challenge: nginx's own copy and the named location's must not both appear.
    expect(header.match(/insufficient_user_authentication/g)).toHaveLength(1);

    // MFA, but 20 minutes ago: only the freshness is unmet, and the challenge still names the
    // MFA acr values beside max_age, so one re-authentication meets it.
    const staleMfa = await issuer.token({
      sub: 'alice',
      acr: 'urn:stepgate:mfa',
      auth_time: nowSeconds() - 1200,
    });
    const refreshed = await through('/account/settings', { token: staleMfa });
    expect(refreshed.status, refreshed.text).toBe(401);
    expect(refreshed.reached).toHaveLength(0);
    expect(refreshed.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_user_authentication", .*acr_values="urn:stepgate:mfa", max_age=600$/,
    );

    const fresh = await issuer.token({
      sub: 'alice',
      acr: 'urn:stepgate:mfa',
      auth_time: nowSeconds(),
    });
    const retried = await through('/account/settings', { token: fresh });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.reached).toHaveLength(1);
    expect(retried.reached[0]?.headers['x-stepgate-principal']).toBe('alice');
  });

  it('refuses a token from an unknown key with 401 invalid_token, never as anonymous', async () => {
    const forged = await issuer.token(
      { sub: 'alice', acr: 'urn:stepgate:mfa' },
      { foreignKey: true },
    );
    const result = await through('/orders/42', { token: forged });
    expect(result.status).toBe(401);
    expect(result.reached).toHaveLength(0);
    expect(result.headers.get('www-authenticate') ?? '').toContain('error="invalid_token"');
  });

  it('keeps a corporate-network rule closed whatever forwarding headers the client sends', async () => {
    // The client is 127.0.0.1, outside 10.0.0.0/8; each header claims an address inside it.
    for (const headers of [
      { 'x-forwarded-for': '10.9.9.9' },
      { 'x-forwarded-for': '10.9.9.9, 10.1.1.1' },
      { 'x-real-ip': '10.9.9.9' },
      { forwarded: 'for=10.9.9.9' },
      { 'x-forwarded-for': '10.9.9.9', 'x-real-ip': '10.9.9.9', forwarded: 'for=10.9.9.9' },
    ]) {
      const result = await through('/intranet/payroll', { headers });
      expect([JSON.stringify(headers), result.status]).toEqual([JSON.stringify(headers), 403]);
      expect(result.reached).toHaveLength(0);
    }
  });

  it("takes context.ip from nginx's forwarding headers: the client's real address", async () => {
    // Only a request whose context.ip is the loopback client (through X-Forwarded-For from the
    // trusted nginx) passes; a spoofed address would be refused.
    const result = await through('/local/status', { headers: { 'x-forwarded-for': '10.9.9.9' } });
    expect(result.status, result.text).toBe(200);
    expect(result.reached).toHaveLength(1);
  });
});
