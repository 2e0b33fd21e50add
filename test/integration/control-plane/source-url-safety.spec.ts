/**
 * Issue 10, lesser findings on source and data-source URLs, against real control planes,
 * PostgreSQL and a real smart-HTTP Git server:
 * - a source URL with credentials in it (`http://user:token@host/repo.git`) was stored as is
 *   and shown to every viewer (and written into the audit log). Now the credentials move to
 *   the encrypted credentials field: at `POST /v1/sources`, for STEPGATE_SOURCE_URL, and for
 *   rows stored before (at start); the fetch still authenticates with them.
 * - source URLs and issuers' JWKS URLs reached link-local addresses (cloud metadata), metadata
 *   names and private or loopback addresses. Now those are refused (private and loopback only
 *   unless STEPGATE_ALLOW_PRIVATE_URLS allows them), a host name by every address it resolves
 *   to when the connection is made.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedRepository } from '../../../apps/control-plane/src/git/embedded-repository.js';
import {
  REPO_ROOT,
  runControlPlaneToExit,
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { GitHttpTestServer, type RunningGitHttpServer } from '../../support/git-http-server.js';
import { cloneEmbedded, pushPolicies, settingsWith } from './step-up-support.js';
import {
  api,
  createToken,
  ensureControlPlaneBuilt,
  readText,
  tempDirs,
  waitFor,
  withCredentials,
} from './support.js';

const USER = 'policy-bot';
const PASSWORD = 's3cret-source-token-4711';
const temp = tempDirs();
let remote: RunningGitHttpServer;
/** Loopback allowed (the harness default): the Git server is on 127.0.0.1. */
let cp: ControlPlaneProcess;
/** Nothing private allowed, as in a deployment that sets no STEPGATE_ALLOW_PRIVATE_URLS. */
let strict: ControlPlaneProcess;
let viewer = '';

async function query(target: ControlPlaneProcess, sql: string, params: unknown[] = []) {
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows;
  } finally {
    await db.end();
  }
}

async function source(target: ControlPlaneProcess, token: string, id: string) {
  const response = await api(target.url, token, 'GET', `/v1/sources/${id}`);
  expect(response.status).toBe(200);
  return response.body;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  const bare = join(temp.make('remote'), 'policies.git');
  await ensureEmbeddedRepository(bare, { seedFrom: join(REPO_ROOT, 'policies') });
  remote = await new GitHttpTestServer({
    repoDir: bare,
    auth: { username: USER, password: PASSWORD },
  }).start();
  cp = await startControlPlane({
    STEPGATE_SOURCE_URL: withCredentials(remote.url, USER, PASSWORD),
  });
  strict = await startControlPlane({ STEPGATE_ALLOW_PRIVATE_URLS: 'false' });
  viewer = (await createToken(cp, 'source-viewer', ['viewer'])).token;
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await strict?.destroy();
  await remote?.close();
  temp.cleanup();
});

describe('credentials in source URLs', () => {
  it('takes STEPGATE_SOURCE_URL credentials out of the URL, and still fetches with them', async () => {
    await waitFor('the default source to sync', async () => {
      const body = await source(cp, viewer, 'default');
      return body.lastSyncedSha !== null;
    });
    const shown = await source(cp, viewer, 'default');
    expect(shown).toMatchObject({ url: remote.url, hasCredentials: true, lastSyncError: null });
    expect(JSON.stringify(shown)).not.toContain(PASSWORD);
    const [row] = await query(
      cp,
      `SELECT url, credentials_encrypted FROM policy_source WHERE id = 'default'`,
    );
    expect(row.url).toBe(remote.url);
    expect(row.credentials_encrypted).not.toContain(PASSWORD);
  });

  it('takes POST /v1/sources credentials out of the URL; they are neither shown nor audited', async () => {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/sources', {
      name: 'with-creds',
      url: withCredentials(remote.url, USER, PASSWORD),
      autoActivate: false,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ url: remote.url, hasCredentials: true });
    const listed = await api(cp.url, viewer, 'GET', '/v1/sources');
    expect(JSON.stringify(listed.body)).not.toContain(PASSWORD);
    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?limit=500');
    expect(JSON.stringify(audit.body)).not.toContain(PASSWORD);
    const [row] = await query(cp, `SELECT url FROM policy_source WHERE id = 'with-creds'`);
    expect(row.url).toBe(remote.url);
    // The credentials still authenticate the fetch.
    const sync = await api(cp.url, cp.adminToken, 'POST', '/v1/sources/with-creds/sync');
    expect(sync.status).toBe(202);
    await waitFor('the new source to sync', async () => {
      const body = await source(cp, viewer, 'with-creds');
      if (body.lastSyncError) throw new Error(body.lastSyncError);
      return body.lastSyncedSha !== null;
    });
  });

  it('refuses credentials given twice (in the URL and as username/password)', async () => {
    const twice = await api(cp.url, cp.adminToken, 'POST', '/v1/sources', {
      name: 'twice',
      url: withCredentials(remote.url, USER, PASSWORD),
      username: USER,
      password: 'another',
    });
    expect(twice.status).toBe(400);
    expect(twice.body.message).toMatch(/credentials and username\/password are given too/);
  });

  it('moves the credentials of a source stored before out of its URL at start', async () => {
    await query(
      cp,
      `INSERT INTO policy_source (id, name, kind, url, branch, path, updated_at)
       VALUES ('legacy', 'legacy', 'remote', $1, 'main', '.', now())`,
      [withCredentials(remote.url, USER, PASSWORD)],
    );
    await cp.restart();
    const shown = await source(cp, viewer, 'legacy');
    expect(shown).toMatchObject({ url: remote.url, hasCredentials: true });
    const [row] = await query(cp, `SELECT url FROM policy_source WHERE id = 'legacy'`);
    expect(row.url).toBe(remote.url);
  });
});

describe('where the control plane may connect', () => {
  it('refuses to start with STEPGATE_SOURCE_URL on a link-local address, in one line', async () => {
    const run = await runControlPlaneToExit(
      {
        STEPGATE_SOURCE_URL: 'http://169.254.169.254/latest/policies.git',
        STEPGATE_DATA_DIR: temp.make('refused-start'),
      },
      20_000,
    );
    expect(run.timedOut, 'the process should exit by itself').toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/STEPGATE_SOURCE_URL: 169\.254\.169\.254 is link-local/),
    ]);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/iam/x.git', /169\.254\.169\.254 is link-local/],
    ['http://[fe80::1]/x.git', /fe80::1 is link-local/],
    ['http://[::ffff:169.254.169.254]/x.git', /is link-local/],
    ['http://metadata.google.internal/computeMetadata/v1/x.git', /cloud metadata service/],
    ['http://[fd00:ec2::254]/x.git', /the AWS metadata service/],
    ['http://10.1.2.3/x.git', /10\.1\.2\.3 is private \(RFC 1918\).*STEPGATE_ALLOW_PRIVATE_URLS/],
    ['http://100.64.0.1/x.git', /CGNAT/],
    ['http://[fd12:3456::1]/x.git', /unique local/],
    ['http://127.0.0.1:9/x.git', /127\.0\.0\.1 is loopback/],
  ])('refuses a source at %s with a 400', async (url, message) => {
    const response = await api(strict.url, strict.adminToken, 'POST', '/v1/sources', {
      name: `refused-${Math.random().toString(36).slice(2, 8)}`,
      url,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.message).toMatch(message);
  });

  it('checks what a host name resolves to when it connects (localhost is loopback)', async () => {
    const port = new URL(remote.url).port;
    const created = await api(strict.url, strict.adminToken, 'POST', '/v1/sources', {
      name: 'by-name',
      url: `http://localhost:${port}/policies.git`,
      username: USER,
      password: PASSWORD,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await api(strict.url, strict.adminToken, 'POST', '/v1/sources/by-name/sync');
    let refused = '';
    await waitFor('the refused sync', async () => {
      refused = (await source(strict, strict.adminToken, 'by-name')).lastSyncError ?? '';
      return refused !== '';
    });
    expect(refused).toMatch(/refused: localhost resolves to 127\.0\.0\.1 is loopback/);
    // Nothing was fetched: the connection was never made.
    const [row] = await query(
      strict,
      `SELECT last_synced_sha FROM policy_source WHERE id = 'by-name'`,
    );
    expect(row.last_synced_sha).toBeNull();
  });

  it("refuses an issuer's JWKS URL on a link-local or a loopback host, saying why", async () => {
    const work = temp.make('strict-clone');
    await cloneEmbedded(strict, work);
    const issuers = [
      'issuers:',
      '  - issuer: https://metadata.example',
      '    audience: stepgate-tests',
      '    jwksUrl: https://169.254.169.254/latest/jwks.json',
      '  - issuer: https://loopback.example',
      '    audience: stepgate-tests',
      `    jwksUrl: http://localhost:${new URL(remote.url).port}/jwks.json`,
    ].join('\n');
    await pushPolicies(
      strict,
      work,
      { 'stepgate.yaml': settingsWith(readText(work, 'stepgate.yaml'), issuers) },
      'Trust two issuers on addresses the control plane must not reach',
    );
    const status = await api(strict.url, strict.adminToken, 'GET', '/v1/issuers');
    const byIssuer = Object.fromEntries(
      (status.body.issuers as Array<{ issuer: string }>).map((row) => [row.issuer, row]),
    );
    expect(byIssuer['https://metadata.example']).toMatchObject({
      kids: [],
      lastError: expect.stringMatching(/refused: 169\.254\.169\.254 is link-local/),
    });
    expect(byIssuer['https://loopback.example']).toMatchObject({
      kids: [],
      lastError: expect.stringMatching(/refused: localhost resolves to 127\.0\.0\.1 is loopback/),
    });
  });
});
