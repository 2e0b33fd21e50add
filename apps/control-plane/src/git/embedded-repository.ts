import * as fs from 'node:fs';
import { existsSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as git from 'isomorphic-git';
import type { TreeEntry } from 'isomorphic-git';

export interface EmbeddedRepositoryOptions {
  /** A folder (like `<repo>/policies`) whose files become the first commit, at the root. */
  seedFrom?: string;
  branch?: string;
  /**
   * Absolute path of the compiled post-receive-report.js. When given, a post-receive hook runs it
   * after every push so the pusher hears the control plane's verdict on the pushed commit.
   */
  hookScript?: string;
  /** The Node binary the hook runs (default: the one running this process). */
  nodePath?: string;
}

export interface EmbeddedRepository {
  dir: string;
  /** The repository did not exist before this call. */
  created: boolean;
  /** This call made the initial commit from `seedFrom`. */
  seeded: boolean;
  /** The branch head, if the branch has any commit. */
  head: string | undefined;
}

const SEED_IDENTITY = { name: 'Stepgate', email: 'stepgate@localhost' };

/**
 * Makes `dir` the bare repository the control plane serves over smart HTTP: creates it when
 * missing, allows pushes over HTTP, (re)installs the post-receive report hook, and seeds an
 * empty repository from `seedFrom`. Safe to call at every start-up, and concurrently: the seed
 * commit only lands if the branch still does not exist.
 */
export async function ensureEmbeddedRepository(
  dir: string,
  options: EmbeddedRepositoryOptions = {},
): Promise<EmbeddedRepository> {
  const gitdir = resolve(dir);
  const branch = options.branch ?? 'main';
  const created = !existsSync(join(gitdir, 'HEAD'));
  if (created) {
    await mkdir(gitdir, { recursive: true });
    await git.init({ fs, gitdir, bare: true, defaultBranch: branch });
    // isomorphic-git assumes a case-insensitive file system; git serves this repository.
    await git.setConfig({ fs, gitdir, path: 'core.ignorecase', value: false });
  }
  await git.setConfig({ fs, gitdir, path: 'http.receivepack', value: true });
  // A reflog keeps force-pushed-over commits recoverable (and out of reach of gc for a while).
  await git.setConfig({ fs, gitdir, path: 'core.logAllRefUpdates', value: true });
  if (options.hookScript !== undefined) await installReportHook(gitdir, options);

  let head = await resolveHead(gitdir, branch);
  let seeded = false;
  if (head === undefined && options.seedFrom !== undefined) {
    head = await seed(gitdir, branch, options.seedFrom);
    seeded = head !== undefined;
    if (!seeded) head = await resolveHead(gitdir, branch);
  }
  return { dir: gitdir, created, seeded, head };
}

async function resolveHead(gitdir: string, branch: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir, ref: `refs/heads/${branch}` });
  } catch (error) {
    if (error instanceof git.Errors.NotFoundError) return undefined;
    throw error;
  }
}

/** Commits the seed folder's files at the repository root; undefined if another caller won. */
async function seed(gitdir: string, branch: string, seedFrom: string): Promise<string | undefined> {
  const source = resolve(seedFrom);
  if (!(await stat(source).catch(() => undefined))?.isDirectory())
    throw new Error(`cannot seed the embedded policy repository: ${source} is not a folder`);
  const tree = await writeFolder(gitdir, source, '');
  if (tree === undefined)
    throw new Error(`cannot seed the embedded policy repository: ${source} has no files`);
  const signature = {
    ...SEED_IDENTITY,
    timestamp: Math.floor(Date.now() / 1000),
    timezoneOffset: new Date().getTimezoneOffset(),
  };
  const commit = await git.writeCommit({
    fs,
    gitdir,
    commit: {
      message: 'Initial policies\n',
      tree,
      parent: [],
      author: signature,
      committer: signature,
    },
  });
  // Created exclusively, so the seed never replaces a branch that appeared meanwhile (another
  // replica's seed); an existing branch was ruled out just before, packed refs included.
  const ref = join(gitdir, 'refs', 'heads', ...branch.split('/'));
  await mkdir(dirname(ref), { recursive: true });
  try {
    await writeFile(ref, `${commit}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  return commit;
}

/**
 * Writes the files below `root/prefix` as tree objects, as `git add --all` would take them
 * (ignored files left out); undefined for a folder with no files.
 */
async function writeFolder(
  gitdir: string,
  root: string,
  prefix: string,
): Promise<string | undefined> {
  const entries: TreeEntry[] = [];
  for (const name of await readdir(join(root, prefix))) {
    const path = prefix ? `${prefix}/${name}` : name;
    if (name === '.git' || (await git.isIgnored({ fs, dir: root, gitdir, filepath: path })))
      continue;
    const full = join(root, path);
    const info = await lstat(full);
    if (info.isDirectory()) {
      const oid = await writeFolder(gitdir, root, path);
      if (oid !== undefined) entries.push({ mode: '040000', path: name, oid, type: 'tree' });
    } else if (info.isSymbolicLink()) {
      const oid = await git.writeBlob({ fs, gitdir, blob: Buffer.from(await readlink(full)) });
      entries.push({ mode: '120000', path: name, oid, type: 'blob' });
    } else if (info.isFile()) {
      const oid = await git.writeBlob({ fs, gitdir, blob: await readFile(full) });
      const mode = info.mode & 0o111 ? '100755' : '100644';
      entries.push({ mode, path: name, oid, type: 'blob' });
    }
  }
  if (entries.length === 0) return undefined;
  return git.writeTree({ fs, gitdir, tree: entries });
}

async function installReportHook(
  gitdir: string,
  options: EmbeddedRepositoryOptions,
): Promise<void> {
  const command = [options.nodePath ?? process.execPath, resolve(options.hookScript!)]
    .map(shellQuote)
    .join(' ');
  const script = [
    '#!/bin/sh',
    '# Installed by the Stepgate control plane (rewritten at every start): relays the control',
    "# plane's verdict on the pushed commit to the pusher. The push is accepted either way:",
    '# the control plane records failed versions and never distributes them.',
    `${command} || true`,
    'exit 0',
    '',
  ].join('\n');
  const hooks = join(gitdir, 'hooks');
  await mkdir(hooks, { recursive: true });
  const path = join(hooks, 'post-receive');
  await writeFile(path, script, { mode: 0o755 });
  await chmod(path, 0o755);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
