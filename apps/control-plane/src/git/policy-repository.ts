import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as git from 'isomorphic-git';
import type { FsClient, ReadCommitResult, ReadTreeResult, TreeEntry } from 'isomorphic-git';
import {
  DEFAULT_POLICY_FILE_LIMITS,
  isPolicyFilePath,
  isPolicyFolder,
  type PolicyFileLimits,
  type SourceFile,
} from '@stepgate/policy';
import { GitSourceError } from './git-errors.js';
import { normalizePolicyPath, PolicyFileBudget } from './policy-files.js';

/** One commit as a policy version records it. */
export interface CommitInfo {
  sha: string;
  author: string;
  authorEmail: string;
  message: string;
  /** The committer time (when the commit was made, as opposed to first authored). */
  committedAt: Date;
  parents: string[];
}

export interface NewCommits {
  /** Oldest first (parents before children). */
  commits: CommitInfo[];
  /** The previous head is no longer in the branch's history (force-push or reset). */
  forcePush: boolean;
  /** More new commits exist than `limit`: only the newest `limit` are listed. */
  truncated: boolean;
}

export interface GitPolicyReaderOptions {
  /** A repository on local disk: a bare repository, or a working tree holding `.git`. */
  dir: string;
  fs: FsClient;
  limits?: PolicyFileLimits;
}

/**
 * Bounds a walk through a pathological history. Past it the previous head's ancestry is only
 * partly known, so very old commits could be listed as new (the limit still applies).
 */
const MAX_COMMITS_VISITED = 100_000;

/**
 * Reads branches, commits and policy files of a local Git repository with isomorphic-git: the
 * control plane's one Git reader (the `git` CLI only serves the embedded repository over HTTP).
 */
export class GitPolicyReader {
  private readonly fs: FsClient;
  private readonly gitdir: string;
  private readonly limits: PolicyFileLimits;
  /** isomorphic-git's cache of parsed pack indexes, shared by this reader's calls. */
  private readonly cache = {};

  constructor(options: GitPolicyReaderOptions) {
    this.fs = options.fs;
    const dotGit = join(options.dir, '.git');
    this.gitdir = existsSync(dotGit) ? dotGit : options.dir;
    this.limits = options.limits ?? DEFAULT_POLICY_FILE_LIMITS;
  }

  /** The head commit of a branch, or undefined when the branch does not exist. */
  async resolveBranch(branch: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ ...this.repo(), ref: `refs/heads/${branch}` });
    } catch (error) {
      if (error instanceof git.Errors.NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * The commits of `branch` after `sinceSha` (what `git log sinceSha..head` lists, merged-in
   * commits included), oldest first. Without `sinceSha` (first sync) only the head commit. When
   * `sinceSha` is no longer in the branch's history, the commits since the merge base (only the
   * head commit if there is none, or if the branch was reset to an older commit) with
   * `forcePush: true`. An absent branch has no commits.
   */
  async listNewCommits(
    branch: string,
    sinceSha: string | undefined,
    limit = 100,
  ): Promise<NewCommits> {
    const head = await this.resolveBranch(branch);
    const none: NewCommits = { commits: [], forcePush: false, truncated: false };
    if (head === undefined || head === sinceSha) return none;
    const headOnly = async (forcePush: boolean): Promise<NewCommits> => ({
      commits: [toCommitInfo(await this.readCommit(head))],
      forcePush,
      truncated: false,
    });
    if (sinceSha === undefined) return headOnly(false);
    if (!(await this.hasCommit(sinceSha))) return headOnly(true);

    // `git rev-list since..head`: what head reaches that since does not. Set differences, so
    // exact whatever the commit dates say (clock skew, commits made in the same second).
    const reached = await this.log(head);
    const excluded = new Set((await this.log(sinceSha)).map((entry) => entry.oid));
    const found = reached.filter((entry) => !excluded.has(entry.oid));
    // No shared history at all (the branch was replaced by an unrelated one).
    if (found.length === reached.length) return headOnly(true);
    const forcePush = !reached.some((entry) => entry.oid === sinceSha);
    // Nothing new: the branch was reset to an older commit.
    if (found.length === 0) return headOnly(forcePush);
    const ordered = oldestFirst(found);
    const keep = Math.max(1, limit);
    return {
      commits: ordered.slice(-keep).map(toCommitInfo),
      forcePush,
      truncated: ordered.length > keep,
    };
  }

  /**
   * Every YAML/JSON file under `path` ('.' = the repository root) at commit `sha`, with paths
   * relative to `path`, sorted; hidden folders and node_modules are skipped, symlinks and
   * submodules ignored. Throws a GitSourceError when `path` is missing or the size budget is
   * exceeded.
   */
  async readPolicyFiles(sha: string, path: string): Promise<SourceFile[]> {
    const root = normalizePolicyPath(path);
    const where = `${sha.slice(0, 7)}:${root || '.'}`;
    let tree: ReadTreeResult;
    try {
      tree = await git.readTree({ ...this.repo(), oid: sha, ...(root ? { filepath: root } : {}) });
    } catch (error) {
      if (error instanceof git.Errors.NotFoundError || error instanceof git.Errors.ObjectTypeError)
        throw new GitSourceError('git/path_not_found', `no folder "${root || '.'}" at ${where}`);
      throw error;
    }
    const budget = new PolicyFileBudget(this.limits, where);
    const files: SourceFile[] = [];
    const walk = async (entries: TreeEntry[], prefix: string): Promise<void> => {
      for (const entry of entries) {
        const path = prefix + entry.path;
        if (entry.type === 'tree' && isPolicyFolder(entry.path)) {
          const sub = await git.readTree({ ...this.repo(), oid: entry.oid });
          await walk(sub.tree, `${path}/`);
        } else if (entry.type === 'blob' && entry.mode !== '120000' && isPolicyFilePath(path)) {
          const { blob } = await git.readBlob({ ...this.repo(), oid: entry.oid });
          budget.charge(path, blob.byteLength);
          files.push({ path, content: Buffer.from(blob).toString('utf8') });
        }
      }
    };
    await walk(tree.tree, '');
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private repo(): { fs: FsClient; gitdir: string; cache: object } {
    return { fs: this.fs, gitdir: this.gitdir, cache: this.cache };
  }

  private readCommit(oid: string): Promise<ReadCommitResult> {
    return git.readCommit({ ...this.repo(), oid });
  }

  private async hasCommit(oid: string): Promise<boolean> {
    try {
      await this.readCommit(oid);
      return true;
    } catch (error) {
      if (error instanceof git.Errors.NotFoundError || error instanceof git.Errors.ObjectTypeError)
        return false;
      throw error;
    }
  }

  /**
   * `oid` and the commits it reaches, each once (isomorphic-git's log can meet a commit twice
   * through merges when dates are skewed), bounded by MAX_COMMITS_VISITED.
   */
  private async log(oid: string): Promise<ReadCommitResult[]> {
    const entries = await git.log({ ...this.repo(), ref: oid, depth: MAX_COMMITS_VISITED });
    const seen = new Set<string>();
    return entries.filter((entry) => !seen.has(entry.oid) && seen.add(entry.oid));
  }
}

/** Orders commits so every commit comes after those of its parents that are in the list. */
function oldestFirst(commits: ReadCommitResult[]): ReadCommitResult[] {
  const newestFirst = [...commits].sort(
    (a, b) => b.commit.committer.timestamp - a.commit.committer.timestamp,
  );
  const byOid = new Map(newestFirst.map((entry) => [entry.oid, entry]));
  const done = new Set<string>();
  const ordered: ReadCommitResult[] = [];
  for (const start of [...newestFirst].reverse()) {
    const stack: Array<{ entry: ReadCommitResult; expanded: boolean }> = [
      { entry: start, expanded: false },
    ];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (done.has(top.entry.oid)) continue;
      if (top.expanded) {
        done.add(top.entry.oid);
        ordered.push(top.entry);
        continue;
      }
      stack.push({ entry: top.entry, expanded: true });
      for (const parent of top.entry.commit.parent) {
        const parentEntry = byOid.get(parent);
        if (parentEntry && !done.has(parent)) stack.push({ entry: parentEntry, expanded: false });
      }
    }
  }
  return ordered;
}

function toCommitInfo({ oid, commit }: ReadCommitResult): CommitInfo {
  return {
    sha: oid,
    author: commit.author.name,
    authorEmail: commit.author.email,
    message: commit.message.replace(/\n+$/, ''),
    committedAt: new Date(commit.committer.timestamp * 1000),
    parents: [...commit.parent],
  };
}
