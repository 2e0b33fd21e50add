/**
 * Verified evidence on the real agent process: bearer JWTs from a real (loopback) issuer, with
 * its keys inline in stepgate.yaml or shipped in the bundle's issuerKeys; grants pushed over
 * the socket, revoked, and kept across a restart while the control plane is down.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIssuer, unsignedToken, type LocalIssuer } from '../../support/local-issuer.js';
import { EXAMPLE_LIVE_DECLARATIONS, SETTINGS } from '../../support/policy-fixtures.js';
import { GATEWAY_POLICY, STEP_UP } from './fixtures.js';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  grantClaims,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
  type BundleSigner,
} from './support.js';

let signer: BundleSigner;
let idp: LocalIssuer;
let keysFile: string;
const dirs: string[] = [];
const running: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  signer = await bundleSigner();
  idp = await startLocalIssuer({ audience: 'stepgate' });
  const dir = tempDir('keys');
  dirs.push(dir);
  keysFile = join(dir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
}, 300_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.kill()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
});

afterAll(async () => {
  await idp.close();
  cleanup(...dirs);
});

const now = () => Math.floor(Date.now() / 1000);

function policies(issuer: string) {
  // The example policies read the live data and signals the example settings declare.
  return examplePolicies(
    { 'gateway.yaml': GATEWAY_POLICY },
    `${SETTINGS}${EXAMPLE_LIVE_DECLARATIONS}issuers:\n${issuer}`,
  );
}

async function plane(issuer: string, overrides = {}): Promise<FakeControlPlane> {
  // Signs revocations as the real control plane does (agents refuse unsigned ones).
  const cp = await FakeControlPlane.start(signer.jwks, undefined, signer.key);
  planes.push(cp);
  cp.publish('active', 1, await signer.sign(policies(issuer), 1, overrides));
  return cp;
}

async function agent(cp: FakeControlPlane, cacheDir?: string): Promise<AgentProcess> {
  const dir = cacheDir ?? tempDir('cache');
  if (!cacheDir) dirs.push(dir);
  const started = await startAgentProcess(
    { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: cp.token, STEPGATE_TRUSTED_KEYS: keysFile },
    dir,
  );
  running.push(started);
  await waitFor(
    'the bundle',
    async () => (await call(started.url, 'GET', '/readyz')).status === 200,
  );
  return started;
}

const account = (a: AgentProcess, token?: string) =>
  call(a.url, 'GET', '/v1/authz/http', undefined, {
    'x-original-uri': '/account/settings',
    'x-original-method': 'GET',
    ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
  });

const inlineIssuer = () => `  - issuer: ${idp.issuer}
    audience: stepgate
    jwks: ${JSON.stringify(idp.jwks)}
    claims: { groups: groups }
`;

describe('bearer tokens on /v1/authz/http', () => {
  it('challenges without a token, lets a fresh MFA token through and refuses bad tokens', async () => {
    const a = await agent(await plane(inlineIssuer()));

    const anonymous = await account(a);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_user_authentication", .*acr_values="urn:stepgate:mfa", max_age=600$/,
    );

    const fresh = await idp.token({ sub: 'alice', acr: 'urn:stepgate:mfa', auth_time: now() });
    const allowed = await account(a, fresh);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-stepgate-principal')).toBe('alice');

    // A verified but weak token: the step-up challenge, not invalid_token.
    const weak = await account(a, await idp.token({ acr: 'urn:stepgate:pwd', auth_time: now() }));
    expect(weak.status).toBe(401);
    expect(weak.headers.get('www-authenticate')).toMatch(/insufficient_user_authentication/);

    // MFA 20 minutes ago: the level is met, the freshness is not. The challenge still asks for
    // the MFA acr values with max_age, so the provider cannot answer with a password login.
    const staleMfa = await account(
      a,
      await idp.token({ sub: 'alice', acr: 'urn:stepgate:mfa', auth_time: now() - 1200 }),
    );
    expect(staleMfa.status).toBe(401);
    expect(staleMfa.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_user_authentication", .*acr_values="urn:stepgate:mfa", max_age=600$/,
    );
    expect(staleMfa.body).toMatchObject({
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['maxAge'],
      acr_values: 'urn:stepgate:mfa',
      max_age: 600,
    });

    const refused: [string, RegExp][] = [
      [await idp.token({ acr: 'urn:stepgate:mfa', exp: now() - 120 }), /expired/],
      [await idp.token({ acr: 'urn:stepgate:mfa', aud: 'billing' }), /audience/],
      [
        unsignedToken({ iss: idp.issuer, aud: 'stepgate', sub: 'alice', exp: now() + 60 }),
        /alg none/,
      ],
      [await idp.token({ acr: 'urn:stepgate:mfa' }, { foreignKey: true }), /signature/],
    ];
    for (const [token, reason] of refused) {
      const response = await account(a, token);
      expect(response.status).toBe(401);
      const header = response.headers.get('www-authenticate') ?? '';
      expect(header).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
      expect(header).toMatch(reason);
      expect(response.body.error).toBe('auth/invalid_token');
      expect(response.headers.get('x-stepgate-principal')).toBeNull();
    }
  });

  it('verifies with the issuer keys the control plane shipped in the bundle', async () => {
    const byUrl = `  - issuer: ${idp.issuer}
    audience: stepgate
    jwksUrl: ${idp.jwksUrl}
    challenge: insufficient_claims
`;
    const a = await agent(await plane(byUrl, { issuerKeys: { [idp.issuer]: idp.jwks } }));
    const token = await idp.token({ sub: 'bob', amr: ['pwd', 'otp'], auth_time: now() - 30 });
    const allowed = await account(a, token);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-stepgate-principal')).toBe('bob');
    // Stale authentication: the challenge follows the issuer's style, and asks for the
    // level's acr values besides max_age although the level itself is met.
    const stale = await account(a, await idp.token({ amr: ['otp'], auth_time: now() - 3600 }));
    expect(stale.status).toBe(401);
    const header = stale.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer error="insufficient_claims", .*claims="[^"]+", max_age=600$/);
    const claims = JSON.parse(atob(/claims="([^"]+)"/.exec(header)?.[1] ?? ''));
    expect(claims).toEqual({
      access_token: {
        acr: { essential: true, values: ['urn:stepgate:mfa'] },
        auth_time: { essential: true },
      },
    });
    expect(stale.body.unmet).toEqual(['maxAge']);
  });
});

describe('bearer tokens on /v1/decide and AuthZEN', () => {
  it('applies a token only to its own principal and ignores auth in the body', async () => {
    const a = await agent(await plane(inlineIssuer()));
    const body = {
      principal: { id: 'alice' },
      action: 'http:GET',
      resource: { kind: 'http', id: '/account/settings' },
    };

    const claimed = await call(a.url, 'POST', '/v1/decide', {
      ...body,
      auth: { level: 'phishing_resistant', authTime: new Date().toISOString() },
    });
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['level', 'maxAge'],
    });

    const token = await idp.token({ sub: 'alice', acr: 'urn:stepgate:mfa', auth_time: now() });
    const bearer = { authorization: `Bearer ${token}` };
    const decided = await call(a.url, 'POST', '/v1/decide', body, bearer);
    expect(decided.body.effect).toBe('allow');

    const someoneElse = await call(
      a.url,
      'POST',
      '/v1/decide',
      { ...body, principal: { id: 'mallory' } },
      bearer,
    );
    expect(someoneElse.status).toBe(401);
    expect(someoneElse.headers.get('www-authenticate')).toMatch(
      /error="invalid_token", error_description=".*different principal/,
    );

    const evaluation = {
      subject: { type: 'user', id: 'alice' },
      action: { name: 'http:GET' },
      resource: { type: 'http', id: '/account/settings' },
    };
    const without = await call(a.url, 'POST', '/access/v1/evaluation', evaluation);
    expect(without.body.decision).toBe(false);
    const withToken = await call(a.url, 'POST', '/access/v1/evaluation', evaluation, bearer);
    expect(withToken.body.decision).toBe(true);
    const batch = await call(
      a.url,
      'POST',
      '/access/v1/evaluations',
      { ...evaluation, evaluations: [{}, { resource: { type: 'http', id: '/public/x' } }] },
      bearer,
    );
    expect(batch.body.evaluations.map((e: { decision: boolean }) => e.decision)).toEqual([
      true,
      true,
    ]);
  });
});

describe('grants', () => {
  it('honours a pushed grant, drops it on revocation at once, and keeps grants across a restart', async () => {
    const cp = await plane(inlineIssuer());
    const cacheDir = tempDir('cache');
    dirs.push(cacheDir);
    const a = await agent(cp, cacheDir);
    const decide = async (target: AgentProcess) =>
      (await call(target.url, 'POST', '/v1/decide', STEP_UP)).body;

    expect((await decide(a)).effect).toBe('step_up');

    const claims = grantClaims('paul', { actions: ['secrets:*'], resources: ['payments/**'] });
    // A grant for the same subject with a scope that does not cover the request changes nothing.
    const elsewhere = grantClaims('paul', { resources: ['billing/**'] });
    cp.pushGrants({
      full: false,
      grants: [await signer.grant(claims), await signer.grant(elsewhere)],
      revoked: [],
    });
    await waitFor('the grant', async () => (await decide(a)).effect === 'allow');
    expect((await decide(a)).grants).toEqual([claims.id]);

    await cp.pushGrants({ full: false, grants: [], revoked: [claims.id] });
    await waitFor('the revocation', async () => (await decide(a)).effect === 'step_up');

    const second = grantClaims('paul', { actions: ['secrets:read'], resources: ['payments/**'] });
    cp.pushGrants({ full: false, grants: [await signer.grant(second)], revoked: [] });
    await waitFor('the second grant', async () => (await decide(a)).effect === 'allow');

    await a.stop();
    await cp.stop();
    const restarted = await startAgentProcess(
      { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: cp.token, STEPGATE_TRUSTED_KEYS: keysFile },
      cacheDir,
    );
    running.push(restarted);
    const decision = await decide(restarted);
    expect(decision).toMatchObject({ effect: 'allow', grants: [second.id] });
    expect(decision.failReason).toBeUndefined();
    expect((await call(restarted.url, 'GET', '/readyz')).body.connected).toBe(false);
    // On disk: the live grant and the revocation, so a stale message cannot bring it back.
    const stored = JSON.parse(readFileSync(join(cacheDir, 'grants.json'), 'utf8'));
    expect(stored.revoked).toContain(claims.id);
    expect(stored.grants).toHaveLength(2);
  });
});
