/**
 * Reading a commit's policy files with GitPolicyReader (the control plane's one Git reader), and
 * the one selection rule it shares with the CLI: `stepgate test <folder>` reads the same files,
 * with the same paths, as a push of that folder is judged on.
 */
import * as fs from 'node:fs';
import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { compile } from '@stepgate/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceError } from '../../../apps/control-plane/src/git/git-errors.js';
import type { PolicyFileLimits } from '@stepgate/policy';
import { readPolicyDir } from '../../../apps/cli/src/policy-files/read-policy-dir.js';
import { GitPolicyReader } from '../../../apps/control-plane/src/git/policy-repository.js';
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

const read = (at: string, path: string, limits?: PolicyFileLimits) =>
  new GitPolicyReader({ dir: work, fs, ...(limits ? { limits } : {}) }).readPolicyFiles(at, path);

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

describe('GitPolicyReader.readPolicyFiles', () => {
  it('returns the policy files under a subfolder, relative to it, sorted', async () => {
    const files = await read(sha, 'config/policies');
    const expected = examplePolicyFiles();
    expect(files.map((f) => f.path)).toEqual([...expected.keys()].sort());
    for (const file of files) expect(file.content).toBe(expected.get(file.path));
    expect(compile(files).ok).toBe(true);
  });

  it('accepts ./ and trailing slashes, and reads the root with "."', async () => {
    const same = await read(sha, './config/policies/');
    expect(same).toHaveLength(examplePolicyFiles().size);
    const root = await read(sha, '.');
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

describe('the CLI and the control plane', () => {
  it('select the same files: stepgate test on the checkout reads what a push of it is judged on', async () => {
    for (const path of ['config/policies', '.']) {
      const fromCommit = await read(sha, path);
      const fromDisk = await readPolicyDir(join(work, path));
      expect(fromDisk.map((f) => f.path)).toEqual(fromCommit.map((f) => f.path));
      expect(fromDisk).toEqual(fromCommit);
    }
  });

  it('refuse a file over the same 4 MiB default', async () => {
    const big = await commitFiles(
      work,
      { 'config/policies/data/huge.json': `"${'x'.repeat(4 * 1024 * 1024)}"` },
      'A huge data document',
    );
    const tooBig = /data\/huge\.json is 4194306 bytes.* limited to 4194304\b/;
    await expect(read(big, 'config/policies')).rejects.toThrow(tooBig);
    await expect(readPolicyDir(join(work, 'config/policies'))).rejects.toThrow(tooBig);
    await gitOk(['reset', '--quiet', '--hard', sha], { cwd: work });
  });
});
