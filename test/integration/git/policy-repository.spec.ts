/**
 * GitPolicyReader against a bare repository that receives real `git push`es over smart HTTP
 * (GitHttpTestServer → serveGitHttp → git http-backend).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitPolicyReader } from '../../../apps/control-plane/src/git/policy-repository.js';
import { GitHttpTestServer, type RunningGitHttpServer } from '../../support/git-http-server.js';
import { commitFiles, git, gitOk, initBare, initWork, tempDirs } from './git-fixtures.js';

const temp = tempDirs();
let server: RunningGitHttpServer;
let bare: string;
let work: string;
let reader: GitPolicyReader;

beforeAll(async () => {
  const root = temp.make('reader');
  bare = await initBare(root);
  server = await new GitHttpTestServer({ repoDir: bare }).start();
  work = await initWork(join(root, 'work'), server.url);
  reader = new GitPolicyReader({ dir: bare, fs });
});

afterAll(async () => {
  await server?.close();
  temp.cleanup();
});

async function push(...args: string[]): Promise<void> {
  const run = await git(['push', ...args, 'origin', 'HEAD:refs/heads/main'], { cwd: work });
  expect(run.status, run.stderr).toBe(0);
}

describe('GitPolicyReader on a repository receiving real pushes', () => {
  let first: string;
  let third: string;

  it('has no branch before the first push', async () => {
    expect(await reader.resolveBranch('main')).toBeUndefined();
    expect(await reader.listNewCommits('main', undefined)).toEqual({
      commits: [],
      forcePush: false,
      truncated: false,
    });
  });

  it('lists the pushed commit with its author and message on the first sync', async () => {
    first = await commitFiles(
      work,
      { 'stepgate.yaml': 'apiVersion: stepgate/v1\nkind: Settings\n' },
      'Add settings\n\nWith a body.',
      { name: 'Bob Builder', email: 'bob@example.com' },
    );
    await push();

    expect(await reader.resolveBranch('main')).toBe(first);
    const result = await reader.listNewCommits('main', undefined);
    expect(result.forcePush).toBe(false);
    expect(result.commits).toHaveLength(1);
    const [commit] = result.commits;
    expect(commit).toMatchObject({
      sha: first,
      author: 'Bob Builder',
      authorEmail: 'bob@example.com',
      message: 'Add settings\n\nWith a body.',
      parents: [],
    });
    expect(commit!.committedAt).toBeInstanceOf(Date);
    expect(Math.abs(commit!.committedAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await reader.listNewCommits('main', first)).toEqual({
      commits: [],
      forcePush: false,
      truncated: false,
    });
  });

  it('lists two commits of one push oldest first', async () => {
    const second = await commitFiles(work, { 'a.yaml': 'a: 1\n' }, 'Second');
    third = await commitFiles(work, { 'b.yaml': 'b: 1\n' }, 'Third');
    await push();

    const result = await reader.listNewCommits('main', first);
    expect(result.forcePush).toBe(false);
    expect(result.truncated).toBe(false);
    expect(result.commits.map((c) => [c.sha, c.message, c.parents])).toEqual([
      [second, 'Second', [first]],
      [third, 'Third', [second]],
    ]);
    expect(result.commits.map((c) => c.author)).toEqual(['Alice Example', 'Alice Example']);
  });

  it('keeps the newest commits when there are more than the limit', async () => {
    const result = await reader.listNewCommits('main', first, 1);
    expect(result.truncated).toBe(true);
    expect(result.commits.map((c) => c.sha)).toEqual([third]);
  });

  it('reports a force-push and lists the commits since the merge base', async () => {
    await gitOk(['reset', '--quiet', '--hard', first], { cwd: work });
    const replaced = await commitFiles(work, { 'c.yaml': 'c: 1\n' }, 'Rewritten history');
    await push('--force');

    expect(await reader.resolveBranch('main')).toBe(replaced);
    const result = await reader.listNewCommits('main', third);
    expect(result.forcePush).toBe(true);
    expect(result.commits.map((c) => [c.sha, c.parents])).toEqual([[replaced, [first]]]);
  });

  it('lists just the head, as a force-push, when the branch was reset to an older commit', async () => {
    const head = (await reader.resolveBranch('main'))!;
    await gitOk(['reset', '--quiet', '--hard', first], { cwd: work });
    await push('--force');

    const result = await reader.listNewCommits('main', head);
    expect(result).toMatchObject({ forcePush: true, truncated: false });
    expect(result.commits.map((c) => c.sha)).toEqual([first]);
  });

  it('lists just the head, as a force-push, when the old head is unknown or unrelated', async () => {
    const unknown = 'f'.repeat(40);
    const unknownResult = await reader.listNewCommits('main', unknown);
    expect(unknownResult.forcePush).toBe(true);
    expect(unknownResult.commits.map((c) => c.sha)).toEqual([first]);

    await gitOk(['checkout', '--quiet', '--orphan', 'unrelated'], { cwd: work });
    const orphan = await commitFiles(work, { 'd.yaml': 'd: 1\n' }, 'Unrelated root');
    const run = await git(['push', 'origin', 'HEAD:refs/heads/other'], { cwd: work });
    expect(run.status, run.stderr).toBe(0);
    const unrelated = await reader.listNewCommits('main', orphan);
    expect(unrelated.forcePush).toBe(true);
    expect(unrelated.commits.map((c) => c.sha)).toEqual([first]);
    await gitOk(['checkout', '--quiet', '-B', 'main', first], { cwd: work });
  });

  it('includes merged-in commits, parents before children', async () => {
    await gitOk(['checkout', '--quiet', '-B', 'main', first], { cwd: work });
    await gitOk(['checkout', '--quiet', '-b', 'feature'], { cwd: work });
    const feature = await commitFiles(work, { 'f.yaml': 'f: 1\n' }, 'Feature work');
    await gitOk(['checkout', '--quiet', 'main'], { cwd: work });
    const onMain = await commitFiles(work, { 'm.yaml': 'm: 1\n' }, 'Main work');
    await gitOk(['merge', '--quiet', '--no-ff', '-m', 'Merge feature', 'feature'], { cwd: work });
    const merge = await gitOk(['rev-parse', 'HEAD'], { cwd: work });
    await push('--force');

    const result = await reader.listNewCommits('main', first);
    expect(result.forcePush).toBe(false);
    const order = result.commits.map((c) => c.sha);
    expect(new Set(order)).toEqual(new Set([feature, onMain, merge]));
    expect(order.at(-1)).toBe(merge);
    expect(result.commits.at(-1)!.parents).toEqual([onMain, feature]);
  });

  it('is exact whatever the commit dates say (same second, skewed clocks)', async () => {
    const local = await initWork(join(temp.make('dates'), 'work'));
    const commitAt = async (date: string, message: string): Promise<string> => {
      const env = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      const run = await git(['commit', '--quiet', '--allow-empty', '-m', message], {
        cwd: local,
        env,
      });
      expect(run.status, run.stderr).toBe(0);
      return gitOk(['rev-parse', 'HEAD'], { cwd: local });
    };
    const same = '2026-01-01T00:00:00Z';
    const slow = '2019-01-01T00:00:00Z';
    const base = await commitAt(same, 'base');
    // The old history comes from a machine whose clock is years behind: a walk ordered by date
    // would reach `base` from the new side first and wrongly count it as new.
    await commitAt(slow, 'old 1, from a slow clock');
    const oldHead = await commitAt(slow, 'old 2, from a slow clock');
    await gitOk(['reset', '--quiet', '--hard', base], { cwd: local });
    const fresh = await commitAt(same, 'fresh 1, in the same second as base');
    const fresher = await commitAt(same, 'fresh 2, in the same second too');

    const localReader = new GitPolicyReader({ dir: local, fs });
    const rewritten = await localReader.listNewCommits('main', oldHead);
    expect(rewritten.forcePush).toBe(true);
    expect(rewritten.commits.map((c) => c.sha)).toEqual([fresh, fresher]);
    const forward = await localReader.listNewCommits('main', base);
    expect(forward.forcePush).toBe(false);
    expect(forward.commits.map((c) => c.sha)).toEqual([fresh, fresher]);
  });

  it('does not know a branch that does not exist', async () => {
    expect(await reader.resolveBranch('nope')).toBeUndefined();
  });
});
