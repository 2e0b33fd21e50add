/** ensureEmbeddedRepository: the bare repository the control plane hosts and seeds. */
import * as fs from 'node:fs';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { compile, PolicyEngine, runTestSuites } from '@stepgate/policy';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedRepository } from '../../../apps/control-plane/src/git/embedded-repository.js';
import { GitPolicyReader } from '../../../apps/control-plane/src/git/policy-repository.js';
import { examplePolicies, gitOk, tempDirs } from './git-fixtures.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

describe('ensureEmbeddedRepository', () => {
  it('creates a bare repository seeded from policies/ whose first commit compiles', async () => {
    const dir = join(temp.make('embedded'), 'git', 'policies.git');
    const repo = await ensureEmbeddedRepository(dir, { seedFrom: examplePolicies });
    expect(repo).toMatchObject({ dir, created: true, seeded: true });
    expect(repo.head).toMatch(/^[0-9a-f]{40}$/);

    expect(await gitOk(['--git-dir', dir, 'rev-parse', '--is-bare-repository'])).toBe('true');
    expect(await gitOk(['--git-dir', dir, 'config', '--get', 'http.receivepack'])).toBe('true');
    expect(await gitOk(['--git-dir', dir, 'symbolic-ref', 'HEAD'])).toBe('refs/heads/main');

    const reader = new GitPolicyReader({ dir, fs });
    expect(await reader.resolveBranch('main')).toBe(repo.head);
    const { commits } = await reader.listNewCommits('main', undefined);
    expect(commits).toEqual([
      expect.objectContaining({
        sha: repo.head,
        author: 'Stepgate',
        authorEmail: 'stepgate@localhost',
        message: 'Initial policies',
        parents: [],
      }),
    ]);

    const files = await reader.readPolicyFiles(repo.head!, '.');
    const paths = files.map((f) => f.path);
    expect(paths).toContain('stepgate.yaml'); // at the repository root, not under policies/
    expect(paths).toContain('api/admin-step-up.yaml');
    const result = compile(files);
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
    const report = runTestSuites(new PolicyEngine(result.policySet!), result.testSuites!);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(10);
  });

  it('is idempotent: a second start changes nothing', async () => {
    const dir = join(temp.make('embedded-again'), 'policies.git');
    const first = await ensureEmbeddedRepository(dir, { seedFrom: examplePolicies });
    const second = await ensureEmbeddedRepository(dir, { seedFrom: examplePolicies });
    expect(second).toEqual({ dir, created: false, seeded: false, head: first.head });
    expect(await gitOk(['--git-dir', dir, 'rev-list', '--count', 'main'])).toBe('1');
  });

  it('creates an empty repository without a seed, on the branch asked for', async () => {
    const dir = join(temp.make('embedded-empty'), 'policies.git');
    const repo = await ensureEmbeddedRepository(dir, { branch: 'trunk' });
    expect(repo).toEqual({ dir, created: true, seeded: false, head: undefined });
    expect(await gitOk(['--git-dir', dir, 'symbolic-ref', 'HEAD'])).toBe('refs/heads/trunk');
  });

  it('installs an executable post-receive hook naming the script', async () => {
    const dir = join(temp.make('embedded-hook'), "it's policies.git");
    await ensureEmbeddedRepository(dir, {
      hookScript: '/opt/stepgate/dist/git/post-receive-report.js',
    });
    const hook = join(dir, 'hooks', 'post-receive');
    expect(statSync(hook).mode & 0o111).toBe(0o111);
    const text = fs.readFileSync(hook, 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain(
      `'${process.execPath}' '/opt/stepgate/dist/git/post-receive-report.js' || true`,
    );
    expect(text.trimEnd().endsWith('exit 0')).toBe(true);
  });

  it('refuses a seed folder that does not exist', async () => {
    const dir = join(temp.make('embedded-bad-seed'), 'policies.git');
    await expect(ensureEmbeddedRepository(dir, { seedFrom: join(dir, 'missing') })).rejects.toThrow(
      /is not a folder/,
    );
  });
});
