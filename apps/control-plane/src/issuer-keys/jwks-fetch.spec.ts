import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutboundPolicy } from '../common/outbound-guard.js';
import { fetchJwks, JwksFetchError } from './jwks-fetch.js';

const LOOPBACK = parseOutboundPolicy('127.0.0.0/8');

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/ok':
        return res.end(JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A' }] }));
      case '/big':
        return res.end(JSON.stringify({ keys: [{ kty: 'x', pad: 'y'.repeat(2048) }] }));
      case '/big-chunked':
        res.write('{"keys": [');
        for (let i = 0; i < 4; i++) res.write(`{"kty":"x","pad":"${'y'.repeat(512)}"},`);
        return res.end('{}]}');
      case '/shape':
        return res.end(JSON.stringify({ keys: 'no' }));
      case '/redirect':
        return res.writeHead(302, { location: '/ok' }).end();
      case '/slow':
        return void setTimeout(() => res.end('{"keys":[]}'), 1000);
      default:
        return res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('fetchJwks', () => {
  it('returns the keys of a JWKS', async () => {
    expect(await fetchJwks(`${base}/ok`, { addresses: LOOPBACK })).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: 'A' },
    ]);
  });

  it.each([
    ['/big', { maxBytes: 1024 }, /sent 2\d{3} bytes; at most 1024 are read/],
    ['/big-chunked', { maxBytes: 1024 }, /sent more than 1024 bytes/],
    ['/shape', {}, /did not answer a JWKS/],
    ['/redirect', {}, /cannot fetch/],
    ['/slow', { timeoutMs: 100 }, /no answer within 100 ms/],
    ['/error', {}, /answered HTTP 500/],
  ])('refuses %s', async (path, options, message) => {
    const failure = fetchJwks(`${base}${path}`, { addresses: LOOPBACK, ...options });
    await expect(failure).rejects.toBeInstanceOf(JwksFetchError);
    await expect(failure).rejects.toThrow(message);
  });
});
