/**
 * Data sources (issue 13): a real control plane (PostgreSQL, Redis) polls a real local HTTP
 * server that serves a plain-text CIDR list in the threat-feed format (Spamhaus DROP: one range
 * per line, `;` comments) and publishes it as live data. The feed changes, answers 304, fails
 * (500, then connection refused), grows past maxBytes and redirects; the last good value is kept
 * through every failure, which /readyz and /metrics show. Two replicas poll once per interval,
 * not twice; without STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS the loopback feed is refused.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  createToken,
  ensureControlPlaneBuilt,
  readText,
  tempDirs,
  waitFor,
} from './support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';

const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string', pattern: '^[0-9a-f.:]+/[0-9]{1,3}$' },
});

const DROP_V1 = `; Spamhaus DROP List 2026/12/02 - (c) 2026 The Spamhaus Project
; Last-Modified: Wed, 02 Dec 2026 10:00:00 GMT
1.10.16.0/20 ; SBL256894
1.19.0.0/16 ; SBL434604
`;
const DROP_V2 = `${DROP_V1}2.56.192.0/22 ; SBL459831\n`;

/** The feed: what it answers, and every request it saw. */
interface Feed {
  mode: 'ok' | 'plain' | 'error' | 'redirect' | 'huge' | 'schema';
  body: string;
  requests: { at: number; path: string; ifNoneMatch?: string; authorization?: string }[];
}

const feed: Feed = { mode: 'ok', body: DROP_V1, requests: [] };
let feedServer: Server | undefined;
let feedPort = 0;

const etagOf = (body: string) =>
  `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;

function answer(request: IncomingMessage, response: ServerResponse): void {
  feed.requests.push({
    at: Date.now(),
    path: request.url ?? '',
    ifNoneMatch: request.headers['if-none-match'],
    authorization: request.headers.authorization,
  });
  if (feed.mode === 'error') return void response.writeHead(500).end('internal error');
  if (feed.mode === 'redirect')
    return void response.writeHead(302, { location: '/moved/drop.txt' }).end();
  if (feed.mode === 'huge')
    return void response.end(`${'10.0.0.0/8 ; padding padding padding\n'.repeat(500)}`);
  if (feed.mode === 'schema') return void response.end('not-a-cidr\n');
  if (feed.mode === 'plain') return void response.end(feed.body);
  const etag = etagOf(feed.body);
  if (request.headers['if-none-match'] === etag) return void response.writeHead(304).end();
  response.writeHead(200, { etag, 'content-type': 'text/plain' }).end(feed.body);
}

async function startFeed(port = 0): Promise<void> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  feedServer = server;
  feedPort = (server.address() as AddressInfo).port;
}

async function stopFeed(): Promise<void> {
  const server = feedServer;
  feedServer = undefined;
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;
let settings: string;
let viewer: string;
let writer: string;

/** The example's stepgate.yaml with the threat_feed document and, when given, its source. */
function settingsWith(source: string | null, path = '/drop.txt'): string {
  const document = '  threat_feed:\n    schema: live-schemas/threat-feed.json\n    default: []\n';
  let text = /^liveData:[ \t]*$/m.test(settings)
    ? settings.replace(/^liveData:[ \t]*\n/m, (line) => `${line}${document}`)
    : `${settings}\nliveData:\n${document}`;
  if (source !== null)
    text += `\ndataSources:\n  - name: threat_feed\n    url: http://127.0.0.1:${feedPort}${path}\n    every: 1s\n    format: lines\n    maxBytes: 4096\n    timeout: 2s\n${source}`;
  return text;
}

const SOURCE_HEADERS = '    headers:\n      Authorization: "Bearer ${DATA_SOURCE_FEED_TOKEN}"\n';

const value = async (base = cp.url) =>
  (await api(base, viewer, 'GET', '/v1/data/threat_feed')).body;
const readyz = async (base = cp.url) => (await fetch(`${base}/readyz`)).json() as Promise<any>;
const sourceStatus = async (base = cp.url) =>
  ((await readyz(base)).dataSources ?? []).find((s: { name: string }) => s.name === 'threat_feed');
const metrics = async (base = cp.url) => (await fetch(`${base}/metrics`)).text();

/** The value of one series of `/metrics`, or undefined when it is absent. */
function series(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

beforeAll(async () => {
  await startFeed();
  await ensureControlPlaneBuilt();
  cp = await startControlPlane({
    STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8',
    DATA_SOURCE_FEED_TOKEN: 'feed-t0ken',
  });
  work = temp.make('data-sources');
  await cloneEmbedded(cp, work);
  settings = readText(work, 'stepgate.yaml');
  viewer = (await createToken(cp, 'ds-viewer', ['viewer'])).token;
  writer = (await createToken(cp, 'ds-writer', ['data'])).token;
  await pushPolicies(
    cp,
    work,
    {
      'live-schemas/threat-feed.json': SCHEMA,
      'stepgate.yaml': settingsWith(SOURCE_HEADERS),
    },
    'Feed threat_feed from the local DROP list',
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await stopFeed();
  temp.cleanup();
});

describe('data sources', () => {
  it('publishes the feed as live data, with the secret header from the environment', async () => {
    await waitFor(
      'the feed published',
      async () => JSON.stringify((await value()).value) === '["1.10.16.0/20","1.19.0.0/16"]',
      30_000,
    );
    const document = await value();
    expect(document).toMatchObject({ isDefault: false, updatedBy: 'data-source:threat_feed' });
    const history = await api(cp.url, viewer, 'GET', '/v1/data/threat_feed/history');
    expect(history.body.changes[0]).toMatchObject({
      actor: 'data-source:threat_feed',
      reason: `fetched from http://127.0.0.1:${feedPort}/drop.txt`,
      after: ['1.10.16.0/20', '1.19.0.0/16'],
    });
    expect(feed.requests[0]?.authorization).toBe('Bearer feed-t0ken');
    expect(await sourceStatus()).toMatchObject({ status: 'ok', lastError: null });
    const listed = await api(cp.url, viewer, 'GET', '/v1/data-sources');
    expect(listed.status).toBe(200);
    expect(listed.body.sources).toEqual([
      expect.objectContaining({
        name: 'threat_feed',
        url: `http://127.0.0.1:${feedPort}/drop.txt`,
        every: 1,
        format: 'lines',
        status: 'ok',
        consecutiveFailures: 0,
      }),
    ]);
  });

  it('answers 304 to the stored ETag: no new data revision', async () => {
    const before = await value();
    const seen = feed.requests.length;
    await waitFor('three more polls', () => feed.requests.length >= seen + 3, 30_000);
    expect(feed.requests.at(-1)?.ifNoneMatch).toBe(etagOf(DROP_V1));
    const after = await value();
    expect(after.dataRevision).toBe(before.dataRevision);
    expect(after.revision).toBe(before.revision);
    const text = await metrics();
    expect(
      series(
        text,
        'stepgate_data_source_fetches_total',
        'source="threat_feed",outcome="not_modified"',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(series(text, 'stepgate_data_source_up', 'source="threat_feed"')).toBe(1);
  });

  it('publishes nothing when a feed without ETags serves the same list again', async () => {
    const before = await value();
    feed.mode = 'plain';
    try {
      const seen = feed.requests.length;
      await waitFor('three more polls', () => feed.requests.length >= seen + 3, 30_000);
      await waitFor('the polls recorded', async () => (await sourceStatus()).status === 'ok');
      const after = await value();
      expect(after.value).toEqual(before.value);
      expect(after.dataRevision).toBe(before.dataRevision);
    } finally {
      feed.mode = 'ok';
    }
  });

  it('refuses admin writes to a document a source feeds', async () => {
    const refused = await fetch(`${cp.url}/v1/data/threat_feed`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${writer}`,
        'content-type': 'application/json',
        'x-stepgate-reason': 'manual block',
      },
      body: JSON.stringify(['203.0.113.0/24']),
    });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('data/fed_by_source');
    expect(body.message).toContain(`fed by a data source (http://127.0.0.1:${feedPort}/drop.txt`);
  });

  it('publishes a changed feed as one new revision', async () => {
    const before = await value();
    feed.body = DROP_V2;
    await waitFor('the new range', async () => (await value()).value.length === 3, 30_000);
    const after = await value();
    expect(after.value).toEqual(['1.10.16.0/20', '1.19.0.0/16', '2.56.192.0/22']);
    expect(after.dataRevision).toBe(before.dataRevision + 1);
  });

  /** Switches the feed to `mode` until the source fails with `error`; the value stays. */
  async function failsWith(mode: Feed['mode'], error: RegExp, outcome: string): Promise<void> {
    const good = await value();
    feed.mode = mode;
    await waitFor(
      `the source failing with ${error}`,
      async () =>
        error.test((await sourceStatus())?.lastError ?? '') &&
        (await sourceStatus()).status === 'failing',
      30_000,
    );
    const kept = await value();
    expect(kept.value).toEqual(good.value);
    expect(kept.dataRevision).toBe(good.dataRevision);
    const ready = await fetch(`${cp.url}/readyz`);
    expect(ready.status).toBe(200);
    const text = await metrics();
    expect(series(text, 'stepgate_data_source_up', 'source="threat_feed"')).toBe(0);
    expect(
      series(
        text,
        'stepgate_data_source_fetches_total',
        `source="threat_feed",outcome="${outcome}"`,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      series(text, 'stepgate_data_source_last_success_timestamp_seconds', 'source="threat_feed"'),
    ).toBeGreaterThan(0);
    feed.mode = 'ok';
    await waitFor(
      'the source recovering',
      async () => (await sourceStatus())?.status === 'ok',
      30_000,
    );
  }

  it('keeps the last good value when the feed answers 500', async () => {
    await failsWith('error', /answered HTTP 500/, 'http_status');
  });

  it('keeps the last good value when the feed refuses connections', async () => {
    const good = await value();
    const port = feedPort;
    await stopFeed();
    await waitFor(
      'the source failing with ECONNREFUSED',
      async () => /ECONNREFUSED/.test((await sourceStatus())?.lastError ?? ''),
      30_000,
    );
    expect((await value()).value).toEqual(good.value);
    const text = await metrics();
    expect(series(text, 'stepgate_data_source_up', 'source="threat_feed"')).toBe(0);
    expect(
      series(
        text,
        'stepgate_data_source_fetches_total',
        'source="threat_feed",outcome="connection"',
      ),
    ).toBeGreaterThanOrEqual(1);
    await startFeed(port);
    await waitFor(
      'the source recovering',
      async () => (await sourceStatus())?.status === 'ok',
      30_000,
    );
  });

  it('refuses a feed past maxBytes and keeps the last good value', async () => {
    await failsWith('huge', /at most 4096 are read \(maxBytes\)/, 'too_large');
  });

  it('refuses a redirect and keeps the last good value', async () => {
    const before = feed.requests.filter((r) => r.path.startsWith('/moved')).length;
    await failsWith('redirect', /redirected \(HTTP 302 to \/moved\/drop.txt\)/, 'redirect');
    expect(feed.requests.filter((r) => r.path.startsWith('/moved')).length).toBe(before);
  });

  it('refuses a value the document schema refuses and keeps the last good value', async () => {
    await failsWith('schema', /does not match its JSON Schema/, 'invalid');
  });

  it('polls once per interval with two replicas, not once per replica', async () => {
    const replica = await startControlPlane(
      {
        STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8',
        DATA_SOURCE_FEED_TOKEN: 'feed-t0ken',
      },
      { replicaOf: cp },
    );
    try {
      // Both replicas run workers on the same queue; count what the feed sees over 8 intervals.
      await new Promise((r) => setTimeout(r, 2000));
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 8000));
      const polls = feed.requests.filter((r) => r.at >= from && r.at < from + 8000).length;
      // One poller: about 8 (a busy machine may run one late); one per replica would be ~16.
      expect(polls).toBeGreaterThanOrEqual(3);
      expect(polls).toBeLessThanOrEqual(10);
      expect(await sourceStatus(replica.url)).toMatchObject({ status: 'ok' });
    } finally {
      await replica.destroy();
    }
  }, 180_000);

  it('stops polling a source the active version no longer declares', async () => {
    await pushPolicies(cp, work, { 'stepgate.yaml': settingsWith(null) }, 'Remove the source');
    await new Promise((r) => setTimeout(r, 2500));
    const seen = feed.requests.length;
    await new Promise((r) => setTimeout(r, 4000));
    expect(feed.requests.length).toBe(seen);
    expect((await readyz()).dataSources).toBeUndefined();
    // The document is the admin API's again.
    const put = await fetch(`${cp.url}/v1/data/threat_feed`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${writer}`,
        'content-type': 'application/json',
        'x-stepgate-reason': 'manual block',
      },
      body: JSON.stringify(['203.0.113.0/24']),
    });
    expect(put.status).toBe(200);
  }, 180_000);
});

describe('data sources without STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS', () => {
  it('refuses the loopback feed as private', async () => {
    const other = await startControlPlane();
    try {
      const dir = temp.make('data-sources-private');
      await cloneEmbedded(other, dir);
      const otherViewer = (await createToken(other, 'ds-viewer', ['viewer'])).token;
      const at = feed.requests.length;
      await pushPolicies(
        other,
        dir,
        {
          'live-schemas/threat-feed.json': SCHEMA,
          'stepgate.yaml': settingsWith('', '/private.txt'),
        },
        'A loopback feed',
      );
      let status: any;
      await waitFor(
        'the source refused',
        async () => {
          status = await sourceStatus(other.url);
          return status?.status === 'failing';
        },
        60_000,
      );
      expect(status.lastError).toMatch(
        /refused: 127\.0\.0\.1 is loopback; allow it with STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS/,
      );
      const document = await api(other.url, otherViewer, 'GET', '/v1/data/threat_feed');
      expect(document.body).toMatchObject({ value: [], isDefault: true });
      expect(feed.requests.slice(at).filter((r) => r.path === '/private.txt')).toEqual([]);
      const text = await metrics(other.url);
      expect(
        series(
          text,
          'stepgate_data_source_fetches_total',
          'source="threat_feed",outcome="refused"',
        ),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await other.destroy();
    }
  }, 360_000);
});
