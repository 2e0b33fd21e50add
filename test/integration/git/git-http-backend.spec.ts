/**
 * serveGitHttp (the real `git http-backend` CGI behind node:http): routing limited to the one
 * repository, auth left to the caller, gzip and chunked request bodies, and the time limit
 * leaving no process behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  serveGitHttp,
  type ServeGitHttpResult,
} from '../../../apps/control-plane/src/git/git-http-backend.js';
import { GitHttpTestServer, type RunningGitHttpServer } from '../../support/git-http-server.js';
import {
  commitFiles,
  git,
  gitOk,
  initBare,
  initWork,
  tempDirs,
  withCredentials,
} from './git-fixtures.js';

const temp = tempDirs();
let root: string;
let bare: string;
let server: RunningGitHttpServer;
let origin: string;
let head: string;

beforeAll(async () => {
  root = temp.make('http');
  bare = await initBare(root);
  // Bare repositories keep no reflog unless asked; it shows who pushed.
  await gitOk(['--git-dir', bare, 'config', 'core.logAllRefUpdates', 'true']);
  server = await new GitHttpTestServer({
    repoDir: bare,
    auth: { username: 'admin', password: 'token-1' },
  }).start();
  const work = await initWork(join(root, 'work'), withCredentials(server.url, 'admin', 'token-1'));
  head = await commitFiles(work, { 'stepgate.yaml': 'kind: Settings\n' }, 'First');
  const push = await git(['push', 'origin', 'HEAD:refs/heads/main'], { cwd: work });
  expect(push.status, push.stderr).toBe(0);
  origin = new URL(server.url).origin;
});

afterAll(async () => {
  await server?.close();
  temp.cleanup();
});

const AUTH = { Authorization: `Basic ${Buffer.from('admin:token-1').toString('base64')}` };

describe('serveGitHttp', () => {
  it('serves clone and push, reporting the service and passing REMOTE_USER', async () => {
    const clone = join(root, 'clone');
    const run = await git([
      'clone',
      '--quiet',
      withCredentials(server.url, 'admin', 'token-1'),
      clone,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(await gitOk(['rev-parse', 'HEAD'], { cwd: clone })).toBe(head);

    const before = server.requests.length;
    await commitFiles(clone, { 'a.yaml': 'a: 1\n' }, 'Second');
    const push = await git(['push', 'origin', 'HEAD:refs/heads/main'], { cwd: clone });
    expect(push.status, push.stderr).toBe(0);
    // The result settles when git exits, which may be just after the client has its answer.
    const pushes = (): unknown[] =>
      server.requests
        .slice(before)
        .filter((r) => r.service === 'receive-pack')
        .map((r) => [r.method, r.path, r.ok, r.status]);
    await expect.poll(pushes, { timeout: 5_000 }).toEqual([
      ['GET', '/policies.git/info/refs', true, 200],
      ['POST', '/policies.git/git-receive-pack', true, 200],
    ]);
    // http-backend records REMOTE_USER as the committer identity of the reflog entry.
    expect(readReflog()).toContain('admin');
    head = await gitOk(['rev-parse', 'HEAD'], { cwd: clone });
  });

  it('leaves authentication to the caller: the test server answers 401 with a challenge', async () => {
    const response = await fetch(`${server.url}/info/refs?service=git-upload-pack`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="test"');
    const run = await git(['ls-remote', server.url]);
    expect(run.status).not.toBe(0);
  });

  it('answers 404 outside the one repository and 405 for a wrong method', async () => {
    const paths = [
      '/other.git/info/refs?service=git-upload-pack',
      '/policies.git/../other.git/info/refs?service=git-upload-pack',
      '/policies.git/objects/info/packs',
      '/policies.git/HEAD',
      '/policies.git/config',
      '/policies.gitx/info/refs',
      '/',
    ];
    for (const path of paths) {
      const response = await fetch(`${origin}${path}`, { headers: AUTH });
      expect([path, response.status]).toEqual([path, 404]);
    }
    const wrongMethod = await fetch(`${server.url}/git-upload-pack`, { headers: AUTH });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('advertises refs with the CGI headers mapped onto the response', async () => {
    const response = await fetch(`${server.url}/info/refs?service=git-upload-pack`, {
      headers: AUTH,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'application/x-git-upload-pack-advertisement',
    );
    expect(response.headers.get('cache-control')).toMatch(/no-cache/);
    expect(await response.text()).toContain(`${head} refs/heads/main`);
  });

  it('inflates a gzip-encoded request body', async () => {
    const body = `0032want ${head}\n00000009done\n`;
    const response = await fetch(`${server.url}/git-upload-pack`, {
      method: 'POST',
      headers: {
        ...AUTH,
        'Content-Type': 'application/x-git-upload-pack-request',
        'Content-Encoding': 'gzip',
      },
      body: gzipSync(body),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const result = Buffer.from(await response.arrayBuffer());
    expect(result.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(result.includes('PACK')).toBe(true);
  });

  it('accepts a push larger than the client buffer (chunked, no Content-Length)', async () => {
    const clone = join(root, 'clone');
    const sha = await commitFiles(
      clone,
      { 'data/blob.json': JSON.stringify(randomBytes(1_500_000).toString('base64')) },
      'Big',
    );
    const before = server.requests.length;
    const push = await git(
      ['-c', 'http.postBuffer=65536', 'push', 'origin', 'HEAD:refs/heads/main'],
      { cwd: clone },
    );
    expect(push.status, push.stderr).toBe(0);
    expect(await gitOk(['--git-dir', bare, 'rev-parse', 'main'])).toBe(sha);
    // git first probes with a tiny "0000" request, then streams the pack in chunks.
    const chunkedPosts = (): number =>
      server.requests.slice(before).filter((r) => r.method === 'POST' && r.ok && r.chunked).length;
    await expect.poll(chunkedPosts, { timeout: 5_000 }).toBe(1);
  });
});

describe('serveGitHttp time limit and cleanup', () => {
  let slow: Server;
  let results: ServeGitHttpResult[];

  beforeAll(async () => {
    results = [];
    slow = createServer((req, res) => {
      void serveGitHttp(req, res, {
        projectRoot: dirname(bare),
        repoName: 'policies.git',
        pathInfo: new URL(req.url ?? '/', 'http://x').pathname,
        timeoutMs: 2_000,
      }).then((result) => results.push(result));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => {
    slow.closeAllConnections();
    slow.close();
  });

  /**
   * Starts an upload-pack request that sends half its body and then stalls (git http-backend
   * waits for the rest), and returns the process group git runs in.
   */
  async function stall(): Promise<{
    group: number;
    request: ClientRequest;
    response: Promise<{ status: number; complete: boolean }>;
  }> {
    const { port } = slow.address() as AddressInfo;
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/policies.git/git-upload-pack',
      headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Content-Length': 1000 },
    });
    req.on('error', () => undefined);
    // git http-backend sends its headers before reading the body, so a cut shows as a response
    // that never completes.
    const response = new Promise<{ status: number; complete: boolean }>((resolve) => {
      req.on('response', (res) => {
        res.on('error', () => undefined);
        res.on('close', () => resolve({ status: res.statusCode ?? 0, complete: res.complete }));
        res.resume();
      });
    });
    req.write(`0032want ${head}\n`);
    let group: number | undefined;
    await expect.poll(() => (group = backendGroup()), { timeout: 5_000 }).toBeGreaterThan(0);
    await expect.poll(() => processesIn(group!).length).toBeGreaterThan(1); // + upload-pack
    return { group: group!, request: req, response };
  }

  it('terminates a request that stalls, cuts the response and leaves no process behind', async () => {
    const started = Date.now();
    const { group, response } = await stall();
    expect(await response).toEqual({ status: 200, complete: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    await expect.poll(() => results.length).toBe(1);
    expect(results.at(-1)).toMatchObject({
      service: 'upload-pack',
      ok: false,
      failure: 'timed out after 2000 ms',
    });
    await expect.poll(() => processesIn(group), { timeout: 3_000 }).toEqual([]);
  });

  it('terminates git when the client goes away', async () => {
    const { group, request: req } = await stall();
    req.destroy();
    await expect.poll(() => results.length).toBe(2);
    expect(results.at(-1)).toMatchObject({ ok: false, failure: 'the client went away' });
    await expect.poll(() => processesIn(group), { timeout: 3_000 }).toEqual([]);
  });
});

/** The process group of this process's `git http-backend` child, if there is one running. */
function backendGroup(): number | undefined {
  const line = processes().find((p) => p.ppid === process.pid && p.args.includes('http-backend'));
  return line?.pgid;
}

/** Every process (zombies included) in a process group. */
function processesIn(group: number): string[] {
  return processes()
    .filter((p) => p.pgid === group)
    .map((p) => `${p.pid} ${p.stat} ${p.args}`);
}

function processes(): Array<{
  pid: number;
  ppid: number;
  pgid: number;
  stat: string;
  args: string;
}> {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      pgid: Number(m[3]),
      stat: m[4]!,
      args: m[5]!,
    }));
}

function readReflog(): string {
  return execFileSync('git', ['--git-dir', bare, 'reflog', 'show', '--format=%gn', 'main'], {
    encoding: 'utf8',
  });
}
