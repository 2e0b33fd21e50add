import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as git from 'isomorphic-git';
import type { FsClient, TreeEntry } from 'isomorphic-git';
import { normalizePolicyPath } from './policy-files.js';

/** A folder of one commit in a repository on disk ('.' = the repository root). */
export interface FolderAt {
  dir: string;
  sha: string;
  path: string;
}

/** A file whose blob differs between two folders; a missing side is undefined. */
export interface ChangedFile {
  path: string;
  before?: () => Promise<Uint8Array>;
  after?: () => Promise<Uint8Array>;
}

/** Bounds the walk through a folder with pathologically many changed files. */
export const MAX_CHANGED_FILES = 5_000;

/** Thrown when a commit of a side is not in its repository (e.g. a remote's cache was replaced). */
export class CommitMissingError extends Error {
  constructor(readonly sha: string) {
    super(`commit ${sha} is not in the repository`);
    this.name = 'CommitMissingError';
  }
}

interface Side {
  repo: { fs: FsClient; gitdir: string; cache: object };
}

/**
 * The files that differ between two folders (each of some commit, possibly of different
 * repositories), by path relative to the folder, sorted. Blob ids are content hashes, so equal
 * ids mean equal content whatever the repository: identical subtrees are skipped unread. Every
 * file counts (not only the policy files the compiler reads): a user diffing two versions
 * expects the folder's README or scripts too. Symlinks compare by target; submodules are left
 * out. A folder absent at a commit is an empty one. `before` null: compare with nothing.
 */
export async function folderChanges(
  fs: FsClient,
  before: FolderAt | null,
  after: FolderAt,
): Promise<{ files: ChangedFile[]; capped: boolean }> {
  const old = before ? await openSide(fs, before) : undefined;
  const neu = await openSide(fs, after);
  const files: ChangedFile[] = [];
  let capped = false;

  const blob = (side: Side, oid: string) => async () =>
    (await git.readBlob({ ...side.repo, oid })).blob;
  const subtree = async (side: Side | undefined, entry: TreeEntry | undefined) =>
    side && entry?.type === 'tree'
      ? (await git.readTree({ ...side.repo, oid: entry.oid })).tree
      : [];

  const walk = async (
    oldEntries: TreeEntry[],
    newEntries: TreeEntry[],
    prefix: string,
  ): Promise<void> => {
    const oldByName = new Map(oldEntries.map((entry) => [entry.path, entry]));
    const newByName = new Map(newEntries.map((entry) => [entry.path, entry]));
    const names = [...new Set([...oldByName.keys(), ...newByName.keys()])].sort();
    for (const name of names) {
      if (files.length >= MAX_CHANGED_FILES) {
        capped = true;
        return;
      }
      const o = oldByName.get(name);
      const n = newByName.get(name);
      if (o && n && o.oid === n.oid && o.type === n.type) continue;
      const path = prefix + name;
      if (o?.type === 'tree' || n?.type === 'tree')
        await walk(await subtree(old, o), await subtree(neu, n), `${path}/`);
      const oldBlob = o?.type === 'blob' ? o.oid : undefined;
      const newBlob = n?.type === 'blob' ? n.oid : undefined;
      if (oldBlob === newBlob) continue;
      files.push({
        path,
        ...(old && oldBlob ? { before: blob(old, oldBlob) } : {}),
        ...(newBlob ? { after: blob(neu, newBlob) } : {}),
      });
    }
  };

  await walk(old ? await folderEntries(old, before!) : [], await folderEntries(neu, after), '');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, capped };
}

async function openSide(fs: FsClient, at: FolderAt): Promise<Side> {
  const dotGit = join(at.dir, '.git');
  const gitdir = existsSync(dotGit) ? dotGit : at.dir;
  const side = { repo: { fs, gitdir, cache: {} } };
  try {
    await git.readCommit({ ...side.repo, oid: at.sha });
  } catch (error) {
    if (error instanceof git.Errors.NotFoundError || error instanceof git.Errors.ObjectTypeError)
      throw new CommitMissingError(at.sha);
    throw error;
  }
  return side;
}

async function folderEntries(side: Side, at: FolderAt): Promise<TreeEntry[]> {
  const root = normalizePolicyPath(at.path);
  try {
    const { tree } = await git.readTree({
      ...side.repo,
      oid: at.sha,
      ...(root ? { filepath: root } : {}),
    });
    return tree;
  } catch (error) {
    if (error instanceof git.Errors.NotFoundError || error instanceof git.Errors.ObjectTypeError)
      return [];
    throw error;
  }
}
