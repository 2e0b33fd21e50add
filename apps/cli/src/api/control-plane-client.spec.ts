import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ControlPlaneClient,
  ControlPlaneError,
  ControlPlaneUnreachableError,
} from './control-plane-client.js';
import { versionSchema, type VersionView } from '@stepgate/protocol';

// Parsed with the protocol's schema, so a fixture that drifts from the contract fails here.
const version: VersionView = versionSchema.parse({
  id: '0b7f9c1e-7d2a-4c6e-9f1b-2a3c4d5e6f70',
  number: 12,
  sourceId: 'embedded',
  sha: 'abc1234def5678abc1234def5678abc1234def56',
  branch: 'main',
  author: 'alice',
  message: 'Tighten prod deploys',
  committedAt: '2026-11-23T10:00:00Z',
  createdAt: '2026-11-23T10:00:05Z',
  status: 'ready',
  bundleHash: 'sha256:00',
  size: 1234,
  forcePush: false,
  pushedBy: 'token:ci',
  protectionChanged: false,
  active: true,
  shadow: false,
  errorCount: 0,
  tests: { passed: 12, failed: 0 },
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server whose handler each test sets; records what it received. */
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
const seen: Seen[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen.length = 0;
});

const json =
  (status: number, body: unknown) =>
  (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

const client = (options: { timeoutMs?: number } = {}) =>
  new ControlPlaneClient({ url: baseUrl, token: 'tok-123' }, options);

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('ControlPlaneClient requests', () => {
  it('sends the bearer token and JSON headers, and encodes the version ref', async () => {
    handler = json(200, {
      ...version,
      errors: [],
      testReport: null,
      replay: null,
      activationHeld: null,
    });
    const detail = await client().getVersion('a b/c');
    expect(detail.number).toBe(12);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/versions/a%20b%2Fc', body: '' });
    expect(seen[0]!.headers.authorization).toBe('Bearer tok-123');
    expect(seen[0]!.headers.accept).toBe('application/json');
  });

  it('leaves out optional query parameters and body fields that are not given', async () => {
    handler = json(200, { events: [] });
    await client().listAudit({ limit: 5 });
    expect(seen[0]!.url).toBe('/v1/audit?limit=5');

    handler = json(200, { revision: 3, activeVersion: version, from: null });
    await client().rollback({ reason: 'bad deploy' });
    expect(seen[1]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[1]!.body)).toEqual({ reason: 'bad deploy' });

    handler = json(200, { revision: 4, shadowVersion: null });
    await client().clearShadow();
    expect(seen[2]).toMatchObject({ method: 'DELETE', url: '/v1/shadow', body: '' });
    expect(seen[2]!.headers['content-type']).toBeUndefined();
  });

  it('goes through an injected fetch and keeps the URL path prefix', async () => {
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push({ url: String(input), init });
      return new Response(JSON.stringify({ versions: [version] }), { status: 200 });
    };
    const prefixed = new ControlPlaneClient(
      { url: 'https://cp.example/stepgate', token: 't' },
      { fetch: fakeFetch },
    );
    const list = await prefixed.listVersions({ limit: 7 });
    expect(list.versions[0]?.sha).toBe(version.sha);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://cp.example/stepgate/v1/versions?limit=7');
    expect(calls[0]!.init?.method).toBe('GET');
    expect(calls[0]!.init?.signal).toBeInstanceOf(AbortSignal);
  });
});

describe('ControlPlaneClient errors', () => {
  it('maps a JSON error body to ControlPlaneError with status, code, message and details', async () => {
    handler = json(409, {
      error: 'version/not_ready',
      message: 'version 13 failed to compile',
      details: { status: 'failed' },
    });
    const error = await failure(client().activate('13'));
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({
      status: 409,
      code: 'version/not_ready',
      message: 'version 13 failed to compile',
      details: { status: 'failed' },
    });
  });

  it('describes an error that is not in the control-plane format (a proxy page)', async () => {
    handler = (_req, res) => res.writeHead(502).end('<html><body>Bad Gateway</body></html>');
    const error = await failure(client().listVersions({ limit: 1 }));
    expect(error).toMatchObject({ status: 502, code: 'http/502' });
    expect((error as Error).message).toContain('HTTP 502');
    expect((error as Error).message).toContain('Bad Gateway');
  });

  it('rejects a 2xx body that is not JSON or lacks documented fields', async () => {
    handler = (_req, res) => res.writeHead(200).end('<html>agent</html>');
    const notJson = await failure(client().listVersions({ limit: 1 }));
    expect(notJson).toMatchObject({ status: 200, code: 'response/invalid' });
    expect((notJson as Error).message).toContain('not JSON');

    const { sha: _sha, ...withoutSha } = version;
    handler = json(200, { versions: [version, withoutSha] });
    const shape = await failure(client().listVersions({ limit: 2 }));
    expect(shape).toMatchObject({ code: 'response/invalid' });
    expect((shape as Error).message).toBe(
      `unexpected answer from ${baseUrl} to GET /v1/versions: versions[1].sha: expected string, received undefined; is the control plane the same version as the CLI?`,
    );

    handler = json(200, {
      revision: 2,
      activeVersion: { ...version, status: 'pending' },
      from: null,
    });
    const status = await failure(client().activate('12'));
    expect((status as Error).message).toContain(
      'POST /v1/versions/12/activate: activeVersion.status',
    );
  });

  it('reports a redirect instead of following it', async () => {
    handler = (_req, res) =>
      res.writeHead(301, { location: 'https://elsewhere/v1/rollback' }).end();
    const error = await failure(client().rollback({ reason: 'r' }));
    expect(error).toMatchObject({ status: 301, code: 'http/301' });
    expect((error as Error).message).toContain('https://elsewhere/v1/rollback');
    expect(seen).toHaveLength(1);
  });

  it('gives up after the timeout with a clear reason', async () => {
    handler = () => {
      // never answer
    };
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 200 }).listVersions({ limit: 1 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(ControlPlaneUnreachableError);
    expect((error as Error).message).toBe(
      `cannot reach the control plane at ${baseUrl} (no answer within 200 ms); is it running? set --url or STEPGATE_URL`,
    );
  });

  it('reports a refused connection as unreachable, with the reason', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));

    const error = await failure(
      new ControlPlaneClient({ url, token: 't' }).listVersions({ limit: 1 }),
    );
    expect(error).toBeInstanceOf(ControlPlaneUnreachableError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot reach the control plane at ${url} \\(.*ECONNREFUSED.*\\); is it running\\? set --url or STEPGATE_URL$`,
      ),
    );
  });
});
