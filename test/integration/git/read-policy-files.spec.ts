/**
 * Reading a commit's policy files: GitPolicyReader (isomorphic-git, used by the sync) and
 * readPolicyFilesWithGit (git CLI, used by the post-receive hook) must select the same files,
 * with the same paths, under the same size budget.
 */
import * as fs from 'node:fs';
import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { compile } from '@stepgate/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceError } from '../../../apps/control-plane/src/git/git-errors.js';
import { readPolicyFilesWithGit } from '../../../apps/control-plane/src/git/git-tree-files.js';
import { GitPolicyReader } from '../../../apps/control-plane/src/git/policy-repository.js';
import type { PolicyFileLimits } from '../../../apps/control-plane/src/git/policy-files.js';
import { commitFiles, examplePolicies, gitOk, initWork, tempDirs } from './git-fixtures.js';

const temp = tempDirs();
let work: string;
let sha: string;

/** The example policy files, as `stepgate test policies/` would read them. */
function examplePolicyFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ya?ml|json)$/.test(entry.name))
        files.set(relative(examplePolicies, full).split(sep).join('/'), readFileSync(full, 'utf8'));
    }
  };
  walk(examplePolicies);
  return files;
}

type Reader = (sha: string, path: string, limits?: PolicyFileLimits) => Promise<unknown>;
const readers: Array<[string, Reader]> = [
  [
    'GitPolicyReader',
    (at, path, limits) =>
      new GitPolicyReader({ dir: work, fs, ...(limits ? { limits } : {}) }).readPolicyFiles(
        at,
        path,
      ),
  ],
  [
    'readPolicyFilesWithGit',
    (at, path, limits) => readPolicyFilesWithGit(join(work, '.git'), at, path, limits),
  ],
];

beforeAll(async () => {
  work = await initWork(join(temp.make('files'), 'work'));
  cpSync(examplePolicies, join(work, 'config/policies'), { recursive: true });
  symlinkSync('stepgate.yaml', join(work, 'config/policies/link.yaml'));
  sha = await commitFiles(
    work,
    {
      'README.md': '# not a policy\n',
      'root.yaml': 'apiVersion: stepgate/v1\n',
      'config/policies/.github/workflow.yaml': 'on: push\n',
      'config/policies/node_modules/pkg/package.json': '{}\n',
      'config/policies/.hidden.yaml': 'x: 1\n',
      'config/policies/notes.txt': 'not a policy\n',
    },
    'Policies in a subfolder',
  );
});

afterAll(() => temp.cleanup());

describe.each(readers)('%s', (_name, read) => {
  it('returns the policy files under a subfolder, relative to it, sorted', async () => {
    const files = (await read(sha, 'config/policies')) as Array<{ path: string; content: string }>;
    const expected = examplePolicyFiles();
    expect(files.map((f) => f.path)).toEqual([...expected.keys()].sort());
    for (const file of files) expect(file.content).toBe(expected.get(file.path));
    expect(compile(files).ok).toBe(true);
  });

  it('accepts ./ and trailing slashes, and reads the root with "."', async () => {
    const same = (await read(sha, './config/policies/')) as Array<{ path: string }>;
    expect(same).toHaveLength(examplePolicyFiles().size);
    const root = (await read(sha, '.')) as Array<{ path: string }>;
    const paths = root.map((f) => f.path);
    expect(paths).toContain('root.yaml');
    expect(paths).toContain('config/policies/stepgate.yaml');
    expect(paths.filter((p) => p.includes('node_modules') || p.includes('/.'))).toEqual([]);
  });

  it('fails clearly for a missing folder, a file, or a path leaving the repository', async () => {
    await expect(read(sha, 'nope')).rejects.toThrow(/no folder "nope" at [0-9a-f]{7}/);
    await expect(read(sha, 'README.md')).rejects.toBeInstanceOf(GitSourceError);
    await expect(read(sha, '../etc')).rejects.toThrow(/invalid policy path/);
  });

  it('enforces the per-file budget', async () => {
    const limits = { maxFileBytes: 1024, maxTotalBytes: 1024 * 1024 };
    await expect(read(sha, 'config/policies', limits)).rejects.toThrow(
      /^\S+\.yaml is \d+ bytes at [0-9a-f]{7}:config\/policies; a policy file is limited to 1024 bytes$/,
    );
  });

  it('enforces the total budget', async () => {
    const limits = { maxFileBytes: 1024 * 1024, maxTotalBytes: 8 * 1024 };
    const error = await read(sha, 'config/policies', limits).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitSourceError);
    expect((error as GitSourceError).code).toBe('git/too_large');
    expect((error as Error).message).toMatch(/exceed 8192 bytes in total/);
  });
});

describe('the default budget', () => {
  it('refuses a file over 4 MiB with both readers', async () => {
    const big = await commitFiles(
      work,
      { 'config/policies/data/huge.json': `"${'x'.repeat(4 * 1024 * 1024)}"` },
      'A huge data document',
    );
    for (const [, read] of readers)
      await expect(read(big, 'config/policies')).rejects.toThrow(
        /data\/huge\.json is 4194306 bytes .* limited to 4194304 bytes/,
      );
    await gitOk(['reset', '--quiet', '--hard', sha], { cwd: work });
  });
});
