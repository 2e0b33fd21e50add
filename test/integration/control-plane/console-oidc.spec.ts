/**
 * Console sign-in with a real OpenID Provider: `oidc-provider` in-process on loopback
 * (test/support/openid-provider.ts), the real control plane with `console.oidc` in its
 * stepgate.yaml. ID tokens come from the provider's own authorization code + PKCE flow (its
 * login page driven over HTTP), and the admin API takes them as bearer tokens: scopes from
 * the groups claim, 403 for a person whose groups map to none, 401 for another issuer's token,
 * a tampered one, an expired one and an access token meant for another audience.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  RelyingParty,
  startOpenIdProvider,
  type OpenIdProvider,
  type TestUser,
} from '../../support/openid-provider.js';
import { api, ensureControlPlaneBuilt, readText, tempDirs } from './support.js';
import { auditEvents, cloneEmbedded, pushPolicies, settingsWith } from './step-up-support.js';

const API = 'https://api.example.test/';
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const ALICE: TestUser = {
  id: 'alice',
  password: 'alice-pw',
  totpSecret: TOTP,
  claims: { email: 'alice@example.com', groups: ['stepgate-operators', 'everyone'] },
};
const BOB: TestUser = {
  id: 'bob',
  password: 'bob-pw',
  totpSecret: TOTP,
  claims: { email: 'bob@example.com', groups: ['marketing'] },
};
const SCOPE = 'openid email groups';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let op: OpenIdProvider;
let other: OpenIdProvider;
let work: string;

async function idToken(provider: OpenIdProvider, user: TestUser): Promise<string> {
  const client = new RelyingParty(provider, user);
  const tokens = await client.tokens({ scope: SCOPE }, { password: user.password, withOtp: false });
  return tokens.idToken;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  op = await startOpenIdProvider({ api: API, user: ALICE, others: [BOB] });
  other = await startOpenIdProvider({ api: API, user: ALICE });
  cp = await startControlPlane();
  work = temp.make('console-oidc');
  await cloneEmbedded(cp, work);
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await op?.close();
  await other?.close();
  temp.cleanup();
});

describe('console sign-in with OIDC', () => {
  it('offers no OIDC sign-in, and takes no JWT, while stepgate.yaml declares no console issuer', async () => {
    const config = await api(cp.url, undefined, 'GET', '/v1/console/config');
    expect(config).toEqual({ status: 200, body: { oidc: null } });
    const refused = await api(cp.url, await idToken(op, ALICE), 'GET', '/v1/versions');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('auth/unauthenticated');
  });

  it('publishes the issuer, client and endpoints of the active version (public route)', async () => {
    const console = [
      'console:',
      '  oidc:',
      `    issuer: ${op.issuer}`,
      `    clientId: ${op.clientId}`,
      '    scopes: [openid, email, groups]',
      '    subjectClaim: email',
      '    rolesClaim: groups',
      '    roles:',
      '      stepgate-operators: [operator, approver]',
      '      security: [viewer]',
      // No tolerance, so the expired token below is refused a second after it expires.
      '    clockSkew: 0',
    ].join('\n');
    await pushPolicies(
      cp,
      work,
      { 'stepgate.yaml': settingsWith(readText(work, 'stepgate.yaml'), console) },
      'Console sign-in with the test provider',
    );
    const config = await api(cp.url, undefined, 'GET', '/v1/console/config');
    expect(config).toEqual({
      status: 200,
      body: {
        oidc: {
          issuer: op.issuer,
          clientId: op.clientId,
          scopes: ['openid', 'email', 'groups'],
          authorizationEndpoint: `${op.issuer}/auth`,
          tokenEndpoint: `${op.issuer}/token`,
          endSessionEndpoint: `${op.issuer}/session/end`,
        },
      },
    });
  });

  it("accepts the provider's ID token with the scopes its groups map to; API tokens still work", async () => {
    const token = await idToken(op, ALICE);
    expect(decodeJwt(token)).toMatchObject({ iss: op.issuer, aud: op.clientId, sub: 'alice' });
    const versions = await api(cp.url, token, 'GET', '/v1/versions');
    expect(versions.status).toBe(200);
    // operator and approver, not admin: creating tokens stays with admin API tokens.
    const tokens = await api(cp.url, token, 'POST', '/v1/tokens', {
      name: 'from-oidc',
      scopes: ['viewer'],
    });
    expect(tokens.status).toBe(403);
    expect(tokens.body.message).toMatch(
      /alice@example\.com \(signed in with OIDC: operator, approver\) lacks the required scope \(admin\)/,
    );
    expect((await api(cp.url, cp.adminToken, 'GET', '/v1/versions')).status).toBe(200);
  });

  it('records the OIDC subject as the actor of what the person does', async () => {
    const response = await fetch(`${cp.url}/v1/data/blocked_ips`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${await idToken(op, ALICE)}`,
        'content-type': 'application/json',
        'x-stepgate-reason': 'console OIDC test',
      },
      body: JSON.stringify(['198.51.100.0/24']),
    });
    expect(response.status).toBe(200);
    const events = await auditEvents(cp, 'data.put', 'data/blocked_ips');
    expect(events.map((event) => (event as { actor?: string }).actor)).toContain(
      'oidc:alice@example.com',
    );
  });

  it('refuses with 403 a person whose groups map to no scope, naming the groups seen', async () => {
    const refused = await api(cp.url, await idToken(op, BOB), 'GET', '/v1/versions');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('auth/forbidden');
    expect(refused.body.message).toMatch(
      /"bob@example\.com" signed in, but no value of the groups claim \["marketing"\] is mapped/,
    );
  });

  it("refuses with 401 another provider's token, though its client id is the same", async () => {
    const foreign = await idToken(other, ALICE);
    expect(decodeJwt(foreign).aud).toBe(op.clientId);
    const refused = await api(cp.url, foreign, 'GET', '/v1/versions');
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('auth/unauthenticated');
    expect(refused.body.message).toContain(`is not the console issuer "${op.issuer}"`);
  });

  it('refuses with 401 a tampered token', async () => {
    const [header, payload, signature] = (await idToken(op, BOB)).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    claims.groups = ['stepgate-operators'];
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature];
    const refused = await api(cp.url, forged.join('.'), 'GET', '/v1/versions');
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/the token signature does not verify/);
  });

  it('refuses with 401 an access token meant for another audience', async () => {
    const client = new RelyingParty(op, ALICE);
    const { accessToken } = await client.tokens(
      { scope: SCOPE },
      { password: ALICE.password, withOtp: false },
    );
    expect(decodeJwt(accessToken).aud).toBe(API);
    const refused = await api(cp.url, accessToken, 'GET', '/v1/versions');
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/not meant for the console client \(aud\)/);
  });

  it('refuses with 401 an expired token', async () => {
    op.idTokenTtl = 1;
    let token: string;
    try {
      token = await idToken(op, ALICE);
    } finally {
      op.idTokenTtl = 600;
    }
    const exp = decodeJwt(token).exp!;
    while (Date.now() / 1000 <= exp + 1) await new Promise((r) => setTimeout(r, 250));
    const refused = await api(cp.url, token, 'GET', '/v1/versions');
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/the token has expired/);
  });

  it('never writes a token to the log', async () => {
    const token = await idToken(op, BOB);
    await api(cp.url, token, 'GET', '/v1/versions');
    const [, , signature] = token.split('.');
    expect(cp.output()).not.toContain(signature);
  });
});
