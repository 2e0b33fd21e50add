import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutboundPolicy, PUBLIC_ONLY } from '../common/outbound-guard.js';
import { JwksFetchError } from './jwks-fetch.js';
import { discoverJwksUri, discoveryUrl } from './oidc-discovery.js';

const LOOPBACK = parseOutboundPolicy('127.0.0.0/8');

let server: Server;
let base: string;
const asked: string[] = [];

/** Each path prefix is one provider whose configuration says what the test needs. */
function configuration(path: string): unknown {
  const issuer = `${base}${path.replace('/.well-known/openid-configuration', '')}`;
  if (path.startsWith('/good')) return { issuer, jwks_uri: `${issuer}/jwks`, scopes: ['openid'] };
  if (path.startsWith('/other')) return { issuer: `${base}/good`, jwks_uri: `${base}/good/jwks` };
  if (path.startsWith('/plain')) return { issuer, jwks_uri: 'http://keys.example.com/jwks' };
  if (path.startsWith('/partial')) return { issuer };
  return undefined;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    if (req.url?.startsWith('/moved')) return res.writeHead(302, { location: '/good' }).end();
    const body = configuration(req.url ?? '');
    if (body === undefined) return res.writeHead(404).end();
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('discoveryUrl', () => {
  it('appends the well-known path after removing a terminating slash (OIDC Discovery 4)', () => {
    expect(discoveryUrl('https://login.example.com')).toBe(
      'https://login.example.com/.well-known/openid-configuration',
    );
    expect(discoveryUrl('https://login.example.com/tenant/')).toBe(
      'https://login.example.com/tenant/.well-known/openid-configuration',
    );
  });
});

describe('discoverJwksUri', () => {
  it("returns the provider's jwks_uri when its issuer is exactly the configured one", async () => {
    expect(await discoverJwksUri(`${base}/good`, { addresses: LOOPBACK })).toBe(
      `${base}/good/jwks`,
    );
    expect(asked.at(-1)).toBe('/good/.well-known/openid-configuration');
  });

  it.each([
    [
      'a configuration naming another issuer',
      '/other',
      /names issuer ".*\/good", not ".*\/other".*4\.3/,
    ],
    [
      'a configuration naming the issuer with a trailing slash',
      '/good/',
      /names issuer ".*\/good", not ".*\/good\/"/,
    ],
    [
      'a plain-http jwks_uri off loopback',
      '/plain',
      /jwks_uri "http:\/\/keys.example.com\/jwks"; it must be an https:\/\//,
    ],
    [
      'a document without jwks_uri',
      '/partial',
      /is not an OpenID Provider configuration: jwks_uri/,
    ],
    ['a redirect', '/moved', /redirected \(HTTP 302\); redirects are not followed/],
    ['a missing configuration', '/none', /answered HTTP 404/],
  ])('refuses %s', async (_what, path, message) => {
    const failure = discoverJwksUri(`${base}${path}`, { addresses: LOOPBACK });
    await expect(failure).rejects.toBeInstanceOf(JwksFetchError);
    await expect(failure).rejects.toThrow(message);
  });

  it('never connects where the outbound policy refuses (loopback by default, link-local always)', async () => {
    const before = asked.length;
    await expect(discoverJwksUri(`${base}/good`, { addresses: PUBLIC_ONLY })).rejects.toThrow(
      /refused: .*loopback/,
    );
    await expect(
      discoverJwksUri('https://169.254.169.254/latest', { addresses: LOOPBACK }),
    ).rejects.toThrow(/refused: .*link-local/);
    expect(asked.length).toBe(before);
  });
});
