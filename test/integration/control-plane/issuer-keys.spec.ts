/**
 * Issuer keys in bundles: the control plane fetches the JWKS of every issuer in stepgate.yaml,
 * ships only public members inside the signed bundle, keeps the last good keys when an issuer
 * fails, and publishes a re-signed bundle (new revision, same version) when an issuer rotates.
 * Real control plane, a real local OIDC-style issuer on loopback, and a misbehaving one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyBundle, type BundlePayload } from '@stepgate/protocol';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalIssuer, type LocalIssuer } from '../../support/local-issuer.js';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  ensureControlPlaneBuilt,
  metricValue,
  readText,
  tempDirs,
  waitFor,
  type Version,
} from './support.js';
import { cloneEmbedded, pushPolicies, settingsWith } from './step-up-support.js';
import { connectAgent } from '../agents/support.js';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let issuer: LocalIssuer;
let bad: { server: Server; base: string; leakyKid: string };
let version: Version;

/**
 * Serves a JWKS with private and symmetric members, an oversized body and a non-JSON one, and
 * an OIDC discovery document that names another issuer (the local one) to lend its keys.
 */
async function startBadIssuer(): Promise<typeof bad> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const leaky = { ...(await exportJWK(privateKey)), kid: 'leaky-1', alg: 'ES256', use: 'sig' };
  const jwks = JSON.stringify({
    keys: [leaky, { kty: 'oct', kid: 'shared', k: 'c2VjcmV0LXNlY3JldA' }],
  });
  const server = createServer((req, res) => {
    if (req.url === '/leaky') return res.writeHead(200).end(jwks);
    if (req.url === '/huge') return res.writeHead(200).end('x'.repeat(2 * 1024 * 1024));
    if (req.url === '/not-json') return res.writeHead(200).end('<html>sign in</html>');
    if (req.url === '/impostor/.well-known/openid-configuration')
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: issuer.issuer, jwks_uri: issuer.jwksUrl }));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    leakyKid: 'leaky-1',
  };
}

async function activeBundle(): Promise<BundlePayload> {
  const response = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
  expect(response.status).toBe(200);
  const keys = await api(cp.url, undefined, 'GET', '/v1/keys');
  return verifyBundle(response.body.jws, keys.body);
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  issuer = await startLocalIssuer();
  bad = await startBadIssuer();
  cp = await startControlPlane({ STEPGATE_JWKS_REFRESH: '2s' });
  const work = temp.make('issuer-keys');
  await cloneEmbedded(cp, work);
  const issuers = [
    'issuers:',
    `  - issuer: ${issuer.issuer}`,
    '    audience: stepgate-tests',
    `    jwksUrl: ${issuer.jwksUrl}`,
    `  - issuer: https://leaky.example`,
    '    audience: stepgate-tests',
    `    jwksUrl: ${bad.base}/leaky`,
    `  - issuer: https://huge.example`,
    '    audience: stepgate-tests',
    `    jwksUrl: ${bad.base}/huge`,
    `  - issuer: https://not-json.example`,
    '    audience: stepgate-tests',
    `    jwksUrl: ${bad.base}/not-json`,
    // Alone: its keys come from discovery, which answers for another issuer.
    `  - issuer: ${bad.base}/impostor`,
    '    audience: stepgate-tests',
  ].join('\n');
  version = await pushPolicies(
    cp,
    work,
    { 'stepgate.yaml': settingsWith(readText(work, 'stepgate.yaml'), issuers) },
    'Trust the test issuers',
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await issuer?.close();
  await new Promise((resolve) => bad?.server.close(resolve));
  temp.cleanup();
});

describe('issuer keys in the signed bundle', () => {
  it("carries the issuer's public JWKS, signed with the bundle", async () => {
    const bundle = await activeBundle();
    expect(bundle.version.number).toBe(version.number);
    expect(bundle.issuerKeys?.[issuer.issuer]).toEqual({ keys: issuer.jwks.keys });
    expect(issuer.fetches()).toBeGreaterThan(0);
  });

  it('keeps only public members: no d, no symmetric keys', async () => {
    const bundle = await activeBundle();
    const leaky = bundle.issuerKeys?.['https://leaky.example']?.keys ?? [];
    expect(leaky.map((key) => key.kid)).toEqual([bad.leakyKid]);
    expect(leaky[0]).toMatchObject({ kty: 'EC', crv: 'P-256', x: expect.any(String) });
    expect(leaky[0]).not.toHaveProperty('d');
    expect(JSON.stringify(bundle.issuerKeys)).not.toMatch(/"(d|k|p|q)":/);
  });

  it('leaves out issuers whose JWKS cannot be used, and reports why (metric, GET /v1/issuers)', async () => {
    const bundle = await activeBundle();
    expect(bundle.issuerKeys).not.toHaveProperty(['https://huge.example']);
    expect(bundle.issuerKeys).not.toHaveProperty(['https://not-json.example']);
    expect(await metricValue(cp.url, 'stepgate_jwks_fetch_failures_total')).toBeGreaterThan(0);
    const status = await api(cp.url, cp.adminToken, 'GET', '/v1/issuers');
    expect(status.status).toBe(200);
    const byIssuer = Object.fromEntries(
      (status.body.issuers as Array<{ issuer: string }>).map((row) => [row.issuer, row]),
    );
    expect(byIssuer['https://huge.example']).toMatchObject({
      kids: [],
      lastError: expect.stringMatching(/more than 1048576 bytes/),
    });
    expect(byIssuer['https://not-json.example']).toMatchObject({
      lastError: expect.stringMatching(/did not answer JSON/),
    });
    expect(bundle.issuerKeys).not.toHaveProperty([`${bad.base}/impostor`]);
    expect(byIssuer[`${bad.base}/impostor`]).toMatchObject({
      source: 'discovery',
      jwksUrl: null,
      kids: [],
      lastError: expect.stringMatching(/names issuer ".*", not ".*\/impostor".*Discovery 4\.3/),
    });
    expect(byIssuer[issuer.issuer]).toMatchObject({
      kids: ['key-1'],
      fetchedAt: expect.any(String),
      lastError: null,
    });
  });

  it('publishes a re-signed bundle (newer revision, same version) when the issuer rotates its keys', async () => {
    const before = await activeBundle();
    const agentToken = (
      await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', { name: 'agent', scopes: ['agent'] })
    ).body.token as string;
    // One agent (a token is bound to one agent id), connected twice.
    const agent = await connectAgent(cp, {
      token: agentToken,
      agentId: 'issuer-keys-agent',
      revisions: { active: before.revision },
    });
    await issuer.rotate();
    let after = before;
    await waitFor(
      'the rotated key in the active bundle',
      async () => {
        after = await activeBundle();
        return after.issuerKeys?.[issuer.issuer]?.keys[0]?.kid === 'key-2';
      },
      20_000,
      250,
    );
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.version).toEqual(before.version);
    expect(after.bundleHash).toBe(before.bundleHash);
    expect(after.rollback).toBe(false);
    expect(after.issuerKeys?.[issuer.issuer]).toEqual({ keys: issuer.jwks.keys });

    // A connected agent is pushed the re-signed bundle; one that missed it catches up on connect.
    const keys = (await api(cp.url, undefined, 'GET', '/v1/keys')).body;
    const pushed = await agent.next('bundle', (message) => message.revision === after.revision);
    expect((await verifyBundle(pushed.jws, keys)).issuerKeys?.[issuer.issuer]?.keys[0]?.kid).toBe(
      'key-2',
    );
    agent.close();
    const late = await connectAgent(cp, {
      token: agentToken,
      agentId: 'issuer-keys-agent',
      revisions: { active: before.revision },
    });
    const caughtUp = await late.next('bundle');
    expect(caughtUp.revision).toBe(after.revision);
    late.close();

    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?action=bundle.keys_refresh');
    expect(audit.body.events[0]).toMatchObject({
      actor: 'system:issuer-keys',
      details: { revision: after.revision, issuers: { [issuer.issuer]: ['key-2'] } },
    });
    // Still the same version, still active: no activation by a person happened.
    const versions = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${version.number}`);
    expect(versions.body.active).toBe(true);
    // Unchanged keys publish nothing more.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect((await activeBundle()).revision).toBe(after.revision);
  });

  it('keeps the last good keys when the issuer goes away, and counts the failures', async () => {
    const before = await activeBundle();
    const failures = await metricValue(cp.url, 'stepgate_jwks_fetch_failures_total');
    await issuer.close();
    await waitFor(
      'a failed refresh of the closed issuer',
      async () => {
        const status = await api(cp.url, cp.adminToken, 'GET', '/v1/issuers');
        const row = (
          status.body.issuers as Array<{ issuer: string; lastError: string | null }>
        ).find((r) => r.issuer === issuer.issuer);
        return row?.lastError !== null && row?.lastError !== undefined;
      },
      20_000,
      250,
    );
    expect(await metricValue(cp.url, 'stepgate_jwks_fetch_failures_total')).toBeGreaterThan(
      failures,
    );
    const bundle = await activeBundle();
    expect(bundle.revision).toBe(before.revision);
    expect(bundle.issuerKeys?.[issuer.issuer]?.keys[0]?.kid).toBe('key-2');
    // The warning names the issuer and the failure, never key material.
    expect(cp.output()).toContain('issuer JWKS fetch failed');
    expect(cp.output()).not.toMatch(/"d":/);
  });
});
