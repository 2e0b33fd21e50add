/**
 * Step-up with a real OpenID Provider, end to end: `oidc-provider` in-process on loopback
 * (test/support/openid-provider.ts), the real control plane trusting it by `issuer:` alone
 * (OIDC discovery), a real agent, and a real nginx asking the agent with `auth_request`.
 *
 * 1. alice's MFA session is twenty minutes old; /payouts needs MFA within 15 minutes. nginx
 *    answers her token with the agent's RFC 9470 challenge, carrying the level's `acr_values`
 *    and `max_age`. Her client runs the authorization code flow (PKCE) with exactly those; the
 *    provider makes her sign in again, mints a token whose acr, amr and auth_time meet the
 *    requirement, and the one retry passes.
 * 2. The provider rotates its signing key (the new key first, the old one kept): tokens signed
 *    with the new key are accepted without restarting the agent (the control plane's refresh
 *    republishes the keys it discovers), and older tokens still are.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  startOpenIdProvider,
  RelyingParty,
  type OpenIdProvider,
  type TestUser,
} from '../support/openid-provider.js';
import { EXAMPLE_SETTINGS } from '../support/policy-fixtures.js';
import { settingsWith } from '../integration/control-plane/step-up-support.js';
import {
  startEchoUpstream,
  startNginx,
  type EchoUpstream,
  type NginxProcess,
} from '../integration/nginx/nginx-process.js';
import {
  AgentProcess,
  api,
  killAllAgents,
  removeTempDirs,
  startPolicyFleet,
  waitFor,
} from './support.js';

const API = 'https://payouts.example.test/';
const ALICE: TestUser = {
  id: 'alice',
  password: 'correct horse',
  totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
};
/** The acr values of the example settings' `mfa` level, as the challenge must list them. */
const MFA_ACR = 'urn:stepgate:mfa http://schemas.openid.net/pape/policies/2007/06/multi-factor';
const MAX_AGE = 15 * 60;

const PAYOUTS_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: e2e-payouts
target:
  actions: ["http:*"]
rules:
  - name: payouts-need-fresh-mfa
    effect: step_up
    when: resource.id.startsWith("/payouts/")
    require: { level: mfa, maxAge: 15m }
  - name: alice-pays-out
    effect: allow
    when: resource.id.startsWith("/payouts/") && principal.id == "alice"
`;

let op: OpenIdProvider;
let cp: ControlPlaneProcess;
let agent: AgentProcess;
let upstream: EchoUpstream;
let nginx: NginxProcess;

beforeAll(async () => {
  op = await startOpenIdProvider({ api: API, user: ALICE });
  ({ cp, agent } = await startPolicyFleet({
    name: 'oidc',
    people: {},
    policies: {
      // Only the issuer: its keys come from discovery.
      'stepgate.yaml': settingsWith(
        EXAMPLE_SETTINGS,
        `issuers:\n  - issuer: ${JSON.stringify(op.issuer)}\n    audience: ${JSON.stringify(API)}\n`,
      ),
      'e2e/payouts.yaml': PAYOUTS_POLICY,
    },
    message: 'e2e: payouts need fresh MFA from the OpenID Provider',
    env: { STEPGATE_JWKS_REFRESH: '2s' },
  }));
  upstream = await startEchoUpstream();
  nginx = await startNginx(`127.0.0.1:${agent.port}`, upstream.address);
}, 300_000);

afterAll(async () => {
  await nginx?.stop();
  await upstream?.close();
  await killAllAgents();
  await cp?.destroy();
  await op?.close();
  removeTempDirs();
});

/** One request through nginx, as the application's client sends it. */
async function payout(token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await fetch(`${nginx.url}/payouts/42`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  await response.text();
  return { status: response.status, challenge: response.headers.get('www-authenticate') };
}

/** The auth-params of a `Bearer` challenge (RFC 9110 section 11.6.1). */
function challengeParams(header: string): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  const params: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g))
    params[match[1]!] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  return params;
}

async function issuerStatus(): Promise<any> {
  const reply = await api(cp.url, cp.adminToken, 'GET', '/v1/issuers');
  expect(reply.status).toBe(200);
  return reply.body.issuers.find((issuer: any) => issuer.issuer === op.issuer);
}

describe('step-up with a real OpenID Provider behind nginx', () => {
  let freshToken = '';

  it('finds the provider by discovery: its jwks_uri, its keys', async () => {
    const discovery = (await (
      await fetch(`${op.issuer}/.well-known/openid-configuration`)
    ).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(op.issuer);
    const status = await issuerStatus();
    expect(status).toMatchObject({
      source: 'discovery',
      jwksUrl: discovery.jwks_uri,
      kids: [op.signingKid],
      lastError: null,
    });
  });

  it('challenges a stale MFA session with acr_values and max_age; the code flow with exactly those meets it in one retry', async () => {
    const client = new RelyingParty(op, ALICE);
    const twentyMinutesAgo = Math.floor(Date.now() / 1000) - 20 * 60;
    const stale = await client.accessToken(
      {},
      { password: ALICE.password, withOtp: true, authenticatedAt: twentyMinutesAgo },
    );
    expect(decodeJwt(stale)).toMatchObject({
      iss: op.issuer,
      aud: API,
      sub: 'alice',
      acr: 'urn:stepgate:mfa',
      auth_time: twentyMinutesAgo,
    });

    const refused = await payout(stale);
    expect(refused.status).toBe(401);
    expect(upstream.seen).toHaveLength(0);
    const challenge = challengeParams(refused.challenge ?? '');
    expect(challenge).toMatchObject({
      error: 'insufficient_user_authentication',
      acr_values: MFA_ACR,
      max_age: String(MAX_AGE),
    });

    // The client asks the provider for exactly what the challenge names.
    const before = Math.floor(Date.now() / 1000);
    freshToken = await client.accessToken(
      { acrValues: challenge.acr_values!, maxAge: Number(challenge.max_age) },
      { password: ALICE.password, withOtp: true },
    );
    // The session was too old for max_age: the provider asked alice to sign in again.
    expect(client.shown).toEqual([
      expect.objectContaining({
        prompt: 'login',
        reasons: expect.arrayContaining(['max_age']),
        acrValues: MFA_ACR,
        maxAge: MAX_AGE,
      }),
    ]);
    const claims = decodeJwt(freshToken);
    expect(decodeProtectedHeader(freshToken).kid).toBe(op.signingKid);
    expect(claims).toMatchObject({ iss: op.issuer, aud: API, sub: 'alice' });
    expect(MFA_ACR.split(' ')).toContain(claims.acr);
    expect(claims.amr).toEqual(expect.arrayContaining(['otp']));
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);
    expect(Math.floor(Date.now() / 1000) - (claims.auth_time as number)).toBeLessThan(MAX_AGE);

    const retried = await payout(freshToken);
    expect(retried.status, retried.challenge ?? '').toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]?.headers['x-stepgate-principal']).toBe('alice');
  }, 60_000);

  it('keeps verifying when the provider rotates its signing key, without restarting the agent', async () => {
    const oldKid = op.signingKid;
    const newKid = await op.rotate();
    expect(newKid).not.toBe(oldKid);
    const rotated = await new RelyingParty(op, ALICE).accessToken(
      { acrValues: MFA_ACR, maxAge: MAX_AGE },
      { password: ALICE.password, withOtp: true },
    );
    expect(decodeProtectedHeader(rotated).kid).toBe(newKid);

    // The control plane rediscovers the keys and republishes the bundle; the agent takes it.
    await waitFor(
      'the agent to accept a token signed with the new key',
      async () => (await payout(rotated)).status === 200,
      90_000,
      250,
    );
    expect((await issuerStatus()).kids).toEqual([newKid, oldKid]);
    // A token signed before the rotation still verifies: the old key is still published.
    expect((await payout(freshToken)).status).toBe(200);
    // One agent process all along.
    expect(agent.alive()).toBe(true);
    expect(agent.output().match(/^--- start /gm)).toHaveLength(1);
  }, 150_000);
});
