import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_ONLY } from '../common/outbound-guard.js';
import { parseAllowedNetworks } from '../config/configuration.js';
import { fetchDataSource, type DataSourceRequest } from './data-source-fetcher.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const LOOPBACK = parseAllowedNetworks('127.0.0.0/8');
let server: Server;
let base: string;
let handler: Handler = (_, response) => response.end();
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const request = (overrides: Partial<DataSourceRequest> = {}): DataSourceRequest => ({
  url: `${base}/drop.txt`,
  headers: {},
  etag: null,
  maxBytes: 1024,
  timeoutMs: 2000,
  outbound: LOOPBACK,
  ...overrides,
});

describe('fetchDataSource against a real HTTP server', () => {
  it('returns the body and ETag, sending the configured headers', async () => {
    handler = (_, response) => {
      response.setHeader('etag', '"v1"');
      response.end('1.10.16.0/20 ; SBL256894\n');
    };
    const result = await fetchDataSource(request({ headers: { authorization: 'Bearer t0ken' } }));
    expect(result).toEqual({
      status: 'ok',
      body: Buffer.from('1.10.16.0/20 ; SBL256894\n'),
      etag: '"v1"',
    });
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer t0ken');
    expect(seen.at(-1)?.headers['if-none-match']).toBeUndefined();
  });

  it('sends If-None-Match with the stored ETag and reads 304 as not modified', async () => {
    handler = (incoming, response) => {
      response.statusCode = incoming.headers['if-none-match'] === '"v1"' ? 304 : 200;
      response.end();
    };
    expect(await fetchDataSource(request({ etag: '"v1"' }))).toEqual({ status: 'not_modified' });
  });

  it('refuses a redirect without following it', async () => {
    let followed = false;
    handler = (incoming, response) => {
      if (incoming.url === '/elsewhere') followed = true;
      response.writeHead(302, { location: '/elsewhere?key=secret' }).end();
    };
    await expect(fetchDataSource(request())).rejects.toMatchObject({
      kind: 'redirect',
      message: `cannot fetch ${base}/drop.txt: redirected (HTTP 302 to /elsewhere); redirects are not followed, configure the final URL`,
    });
    expect(followed).toBe(false);
  });

  it('fails on an error status, naming the URL without its query string', async () => {
    handler = (_, response) => response.writeHead(500).end('boom');
    await expect(
      fetchDataSource(request({ url: `${base}/drop.txt?key=s3cret` })),
    ).rejects.toMatchObject({
      kind: 'http_status',
      message: `${base}/drop.txt answered HTTP 500`,
    });
  });

  it('refuses a body past maxBytes, declared or streamed', async () => {
    handler = (_, response) => response.end('x'.repeat(2000));
    await expect(fetchDataSource(request())).rejects.toMatchObject({
      kind: 'too_large',
      message: `${base}/drop.txt sent 2000 bytes; at most 1024 are read (maxBytes)`,
    });
    // Chunked, no Content-Length: the read stops past the limit and the connection closes.
    const TOTAL = 32 * 1024 * 1024;
    let wrote = 0;
    let finished = false;
    const closed = new Promise<void>((resolve) => {
      handler = (_, response) => {
        response.on('close', () => resolve());
        response.on('finish', () => (finished = true));
        const chunk = 'x'.repeat(64 * 1024);
        const write = () => {
          while (wrote < TOTAL && !response.destroyed) {
            wrote += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', write);
          }
          if (!response.destroyed) response.end();
        };
        write();
      };
    });
    await expect(fetchDataSource(request())).rejects.toMatchObject({ kind: 'too_large' });
    await closed;
    expect(finished).toBe(false);
    expect(wrote).toBeLessThan(TOTAL);
  });

  it('gives up when the whole fetch takes longer than the timeout', async () => {
    handler = (_, response) => response.write('1.2.3.0/24\n'); // never ends
    const started = Date.now();
    await expect(fetchDataSource(request({ timeoutMs: 300 }))).rejects.toMatchObject({
      kind: 'timeout',
      message: `cannot fetch ${base}/drop.txt: no complete answer within 300 ms`,
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses loopback addresses unless allowed, by address and by name', async () => {
    handler = (_, response) => response.end('ok');
    const before = seen.length;
    await expect(fetchDataSource(request({ outbound: PUBLIC_ONLY }))).rejects.toMatchObject({
      kind: 'refused',
      message: `cannot fetch ${base}/drop.txt: refused: 127.0.0.1 is loopback; allow it with STEPGATE_ALLOW_PRIVATE_URLS`,
    });
    const named = base.replace('127.0.0.1', 'localhost');
    await expect(
      fetchDataSource(request({ url: `${named}/x`, outbound: parseAllowedNetworks('10.0.0.0/8') })),
    ).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(
        /refused: localhost resolves to (127\.0\.0\.1|::1) is loopback; allow it with STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS/,
      ),
    });
    expect(seen.length).toBe(before);
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      fetchDataSource(request({ url: `http://127.0.0.1:${port}/drop.txt` })),
    ).rejects.toMatchObject({
      kind: 'connection',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});
