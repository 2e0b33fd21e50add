/**
 * fetchRemote against "the remote GitHub": a bare repository behind the loopback smart-HTTP
 * server, open or with basic auth, receiving real `git push`es.
 */
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceError } from '../../../apps/control-plane/src/git/git-errors.js';
import { GitPolicyReader } from '../../../apps/control-plane/src/git/policy-repository.js';
import { fetchRemote } from '../../../apps/control-plane/src/git/remote-fetcher.js';
import { parseOutboundPolicy } from '../../../apps/control-plane/src/common/outbound-guard.js';
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

/** The test servers listen on loopback, which the control plane refuses unless configured. */
const LOOPBACK = parseOutboundPolicy('127.0.0.0/8');

const USER = 'stepgate-bot';
const PASSWORD = 'ghp_s3cret-t0ken';

const temp = tempDirs();
let open: RunningGitHttpServer;
let guarded: RunningGitHttpServer;
let work: string;
let root: string;

beforeAll(async () => {
  root = temp.make('fetch');
  const bare = await initBare(root, 'remote.git');
  open = await new GitHttpTestServer({ repoDir: bare }).start();
  guarded = await new GitHttpTestServer({
    repoDir: bare,
    auth: { username: USER, password: PASSWORD },
  }).start();
  work = await initWork(join(root, 'work'), withCredentials(guarded.url, USER, PASSWORD));
  await commitFiles(work, { 'policies/stepgate.yaml': 'kind: Settings\n' }, 'First');
  await push();
});

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  temp.cleanup();
});

async function push(...args: string[]): Promise<string> {
  const run = await git(['push', ...args, 'origin', 'HEAD:refs/heads/main'], { cwd: work });
  expect(run.status, run.stderr).toBe(0);
  return gitOk(['rev-parse', 'HEAD'], { cwd: work });
}

async function failure(promise: Promise<unknown>): Promise<GitSourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitSourceError);
  expect((error as GitSourceError).code).toBe('git/fetch_failed');
  return error as GitSourceError;
}

describe('fetchRemote', () => {
  it('clones on first use, then fetches only what a new push added', async () => {
    const cacheDir = join(root, 'cache-open.git');
    const head = await gitOk(['rev-parse', 'HEAD'], { cwd: work });
    expect(
      await fetchRemote({ addresses: LOOPBACK, url: open.url, branch: 'main', cacheDir }),
    ).toBe(head);
    expect(fs.existsSync(join(cacheDir, 'HEAD'))).toBe(true);
    expect(fs.existsSync(join(cacheDir, '.git'))).toBe(false); // bare

    const reader = new GitPolicyReader({ dir: cacheDir, fs });
    expect(await reader.resolveBranch('main')).toBe(head);
    expect(await reader.readPolicyFiles(head, 'policies')).toEqual([
      { path: 'stepgate.yaml', content: 'kind: Settings\n' },
    ]);

    await commitFiles(work, { 'policies/a.yaml': 'a: 1\n' }, 'Second');
    const next = await push();
    const before = open.requests.length;
    expect(
      await fetchRemote({ addresses: LOOPBACK, url: open.url, branch: 'main', cacheDir }),
    ).toBe(next);
    // A request's result settles when git exits, which may be just after the client is done.
    await expect
      .poll(() => open.requests.slice(before).map((r) => [r.service, r.ok]))
      .toEqual([
        ['upload-pack', true],
        ['upload-pack', true],
      ]);
    const { commits } = await reader.listNewCommits('main', head);
    expect(commits.map((c) => [c.sha, c.message])).toEqual([[next, 'Second']]);
    // Nothing new: still the same head.
    expect(
      await fetchRemote({ addresses: LOOPBACK, url: open.url, branch: 'main', cacheDir }),
    ).toBe(next);
  });

  it('authenticates with basic credentials', async () => {
    const cacheDir = join(root, 'cache-auth.git');
    const head = await gitOk(['rev-parse', 'HEAD'], { cwd: work });
    const fetched = await fetchRemote({
      addresses: LOOPBACK,
      url: guarded.url,
      branch: 'main',
      cacheDir,
      credentials: { username: USER, password: PASSWORD },
    });
    expect(fetched).toBe(head);
    // The credentials are used for the request only, never written to the cache.
    const config = fs.readFileSync(join(cacheDir, 'config'), 'utf8');
    expect(config).toContain(guarded.url);
    expect(config).not.toContain(PASSWORD);
  });

  it('fails with one line and no password on wrong or missing credentials', async () => {
    const wrong = await failure(
      fetchRemote({
        addresses: LOOPBACK,
        url: guarded.url,
        branch: 'main',
        cacheDir: join(root, 'cache-wrong.git'),
        credentials: { username: USER, password: 'wrong-password-123' },
      }),
    );
    expect(wrong.message).toBe(
      `cannot fetch ${guarded.url}: HTTP 401 Unauthorized (credentials rejected)`,
    );

    const inUrl = await failure(
      fetchRemote({
        addresses: LOOPBACK,
        url: withCredentials(guarded.url, USER, 'wrong-password-456'),
        branch: 'main',
        cacheDir: join(root, 'cache-url.git'),
      }),
    );
    expect(inUrl.message).toMatch(/^cannot fetch http:\/\/127\.0\.0\.1:\d+\/remote\.git: HTTP 401/);
    expect(inUrl.message).not.toContain('wrong-password-456');
    expect(inUrl.message).not.toContain(USER);

    const none = await failure(
      fetchRemote({
        addresses: LOOPBACK,
        url: guarded.url,
        branch: 'main',
        cacheDir: join(root, 'cache-none.git'),
      }),
    );
    expect(none.message).toMatch(/HTTP 401 Unauthorized \(no credentials configured\)$/);
    for (const error of [wrong, inUrl, none]) expect(error.message).not.toContain('\n');
  });

  it('follows a force-pushed remote', async () => {
    const cacheDir = join(root, 'cache-force.git');
    const old = await gitOk(['rev-parse', 'HEAD'], { cwd: work });
    await fetchRemote({ addresses: LOOPBACK, url: open.url, branch: 'main', cacheDir });

    await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
    await commitFiles(work, { 'policies/b.yaml': 'b: 1\n' }, 'Rewritten');
    const rewritten = await push('--force');
    expect(
      await fetchRemote({ addresses: LOOPBACK, url: open.url, branch: 'main', cacheDir }),
    ).toBe(rewritten);

    const reader = new GitPolicyReader({ dir: cacheDir, fs });
    expect(await reader.resolveBranch('main')).toBe(rewritten);
    const result = await reader.listNewCommits('main', old);
    expect(result.forcePush).toBe(true);
    expect(result.commits.map((c) => c.sha)).toEqual([rewritten]);
  });

  it('names a missing branch', async () => {
    const error = await failure(
      fetchRemote({
        addresses: LOOPBACK,
        url: open.url,
        branch: 'nope',
        cacheDir: join(root, 'cache-nope.git'),
      }),
    );
    expect(error.message).toMatch(/^cannot fetch http:\S+: branch nope not found/);
  });

  it('reports an unreachable host in one line', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const error = await failure(
      fetchRemote({
        addresses: LOOPBACK,
        url: `http://127.0.0.1:${port}/gone.git`,
        branch: 'main',
        cacheDir: join(root, 'cache-gone.git'),
      }),
    );
    expect(error.message).toMatch(
      new RegExp(`^cannot fetch http://127\\.0\\.0\\.1:${port}/gone\\.git: .*ECONNREFUSED`),
    );
    expect(error.message).not.toContain('\n');
  });

  it('gives up on a server that never answers', async () => {
    const silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const error = await failure(
        fetchRemote({
          addresses: LOOPBACK,
          url: `http://127.0.0.1:${port}/slow.git`,
          branch: 'main',
          cacheDir: join(root, 'cache-slow.git'),
          timeoutMs: 500,
        }),
      );
      expect(error.message).toBe(
        `cannot fetch http://127.0.0.1:${port}/slow.git: timed out after 0.5s`,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });
});
