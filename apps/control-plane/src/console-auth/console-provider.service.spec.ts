import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutboundPolicy, PUBLIC_ONLY } from '../common/outbound-guard.js';
import type { AppConfig } from '../config/configuration.js';
import { JwksFetchError } from '../issuer-keys/jwks-fetch.js';
import { ConsoleProviderService } from './console-provider.service.js';

let server: Server;
let base: string;
const asked: string[] = [];
const KEY = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  kid: 'k',
};

/** Each path prefix is one provider whose configuration says what the test needs. */
function answer(path: string): unknown {
  const issuer = `${base}${path.split('/.well-known')[0]}`;
  const endpoints = {
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
  };
  if (path.endsWith('/jwks')) return { keys: [KEY, { kty: 'oct', k: 'c2VjcmV0', kid: 's' }] };
  if (path.startsWith('/good'))
    return { issuer, ...endpoints, end_session_endpoint: `${issuer}/end` };
  if (path.startsWith('/other')) return { issuer: `${base}/good`, ...endpoints };
  if (path.startsWith('/plain'))
    return { issuer, ...endpoints, token_endpoint: 'http://login.example.com/token' };
  if (path.startsWith('/no-s256'))
    return { issuer, ...endpoints, code_challenge_methods_supported: ['plain'] };
  if (path.startsWith('/partial')) return { issuer, jwks_uri: endpoints.jwks_uri };
  return undefined;
}

function provider(addresses = parseOutboundPolicy('127.0.0.0/8')): ConsoleProviderService {
  const config = { outbound: addresses, jwksRefreshSeconds: 300 } as unknown as AppConfig;
  return new ConsoleProviderService(config, pino({ level: 'silent' }));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const body = answer(req.url ?? '');
    if (body === undefined) return res.writeHead(404).end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('ConsoleProviderService', () => {
  it('reads the endpoints from discovery, once while they are fresh', async () => {
    const service = provider();
    const before = asked.length;
    const metadata = await service.metadata(`${base}/good`);
    expect(metadata).toEqual({
      authorizationEndpoint: `${base}/good/auth`,
      tokenEndpoint: `${base}/good/token`,
      endSessionEndpoint: `${base}/good/end`,
      jwksUri: `${base}/good/jwks`,
    });
    await service.metadata(`${base}/good`);
    expect(asked.length - before).toBe(1);
  });

  it('holds only the public signing keys', async () => {
    const keys = await provider().keys(`${base}/good`);
    const header = { alg: 'EdDSA', kid: 'k' };
    await expect(keys(header, { payload: '', signature: '' } as never)).resolves.toBeDefined();
    await expect(
      keys({ alg: 'HS256', kid: 's' }, { payload: '', signature: '' } as never),
    ).rejects.toThrow();
  });

  it.each([
    ['/other', /names issuer ".*\/good", not ".*\/other": console.oidc.issuer must match/],
    [
      '/plain',
      /gives token_endpoint "http:\/\/login.example.com\/token"; it must be an https:\/\/ URL/,
    ],
    ['/no-s256', /does not list S256/],
    ['/partial', /not an OpenID Provider configuration: authorization_endpoint/],
    ['/missing', /answered HTTP 404/],
  ])('refuses the provider at %s', async (path, message) => {
    const failure = provider().metadata(`${base}${path}`);
    await expect(failure).rejects.toBeInstanceOf(JwksFetchError);
    await expect(failure).rejects.toThrow(message);
  });

  it('fetches nothing from loopback unless the outbound policy allows it', async () => {
    const before = asked.length;
    await expect(provider(PUBLIC_ONLY).metadata(`${base}/good`)).rejects.toThrow(/refused/);
    expect(asked.length).toBe(before);
  });

  it('waits before asking a failed provider again', async () => {
    const service = provider();
    const before = asked.length;
    await expect(service.metadata(`${base}/missing-again`)).rejects.toThrow(/404/);
    await expect(service.metadata(`${base}/missing-again`)).rejects.toThrow(/404/);
    expect(asked.length - before).toBe(1);
  });
});
