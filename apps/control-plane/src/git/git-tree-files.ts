import type { SourceFile } from '@stepgate/policy';
import { GitSourceError } from './git-errors.js';
import {
  DEFAULT_POLICY_FILE_LIMITS,
  isPolicyFileName,
  isSkippedEntry,
  normalizePolicyPath,
  PolicyFileBudget,
  type PolicyFileLimits,
} from './policy-files.js';
import { runGit } from './run-git.js';

interface Listed {
  oid: string;
  path: string;
}

/**
 * The policy files under `path` at commit `sha`, read with the `git` CLI (`ls-tree` then one
 * `cat-file --batch`). Same selection, paths and limits as GitPolicyReader.readPolicyFiles; used
 * inside hooks, where the repository is at hand and isomorphic-git is not needed.
 */
export async function readPolicyFilesWithGit(
  gitDir: string,
  sha: string,
  path: string,
  limits: PolicyFileLimits = DEFAULT_POLICY_FILE_LIMITS,
): Promise<SourceFile[]> {
  const root = normalizePolicyPath(path);
  const where = `${sha.slice(0, 7)}:${root || '.'}`;
  const git = (args: string[], input?: string): Promise<Buffer> =>
    runGit([`--git-dir=${gitDir}`, ...args], input === undefined ? {} : { input });

  let listing: Buffer;
  try {
    await git(['cat-file', '-e', `${sha}^{commit}`]);
    listing = await git(['ls-tree', '-r', '-z', '-l', `${sha}:${root}`]);
  } catch {
    throw new GitSourceError('git/path_not_found', `no folder "${root || '.'}" at ${where}`);
  }
  const budget = new PolicyFileBudget(limits, where);
  const wanted: Listed[] = [];
  for (const record of listing.toString('utf8').split('\0')) {
    // <mode> SP <type> SP <oid> SP+ <size> TAB <path>
    const match = /^(\d+) (\w+) ([0-9a-f]+) +(\d+|-)\t(.+)$/s.exec(record);
    if (!match) continue;
    const [, mode, type, oid, size, filePath] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const segments = filePath.split('/');
    const name = segments.pop()!;
    if (type !== 'blob' || mode === '120000' || !isPolicyFileName(name)) continue;
    if (segments.some(isSkippedEntry)) continue;
    budget.charge(filePath, Number(size));
    wanted.push({ oid, path: filePath });
  }
  if (wanted.length === 0) return [];

  const batch = await git(['cat-file', '--batch'], wanted.map((file) => `${file.oid}\n`).join(''));
  const files: SourceFile[] = [];
  let at = 0;
  for (const file of wanted) {
    const headerEnd = batch.indexOf(0x0a, at);
    const header = batch.subarray(at, headerEnd).toString('utf8');
    const size = Number(header.split(' ')[2]);
    if (headerEnd < 0 || !Number.isInteger(size))
      throw new GitSourceError('git/command_failed', `unexpected git cat-file output: ${header}`);
    const start = headerEnd + 1;
    files.push({ path: file.path, content: batch.subarray(start, start + size).toString('utf8') });
    at = start + size + 1;
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
