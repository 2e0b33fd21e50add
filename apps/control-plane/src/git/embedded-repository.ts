import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BuildLimits } from '../sync/build-version.js';
import { runGit } from './run-git.js';

export interface EmbeddedRepositoryOptions {
  /** A folder (like `<repo>/policies`) whose files become the first commit, at the root. */
  seedFrom?: string;
  branch?: string;
  /**
   * Absolute path of the compiled post-receive-report.js. When given, a post-receive hook runs it
   * after every push so the pusher sees whether the pushed commit compiles.
   */
  hookScript?: string;
  /** The policy folder inside the repository the report checks ('.' = root, the default). */
  policyPath?: string;
  /** The Node binary the hook runs (default: the one running this process). */
  nodePath?: string;
  /** The limits the hook judges a pushed commit under: the sync's own (required with hookScript). */
  limits?: BuildLimits;
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

const SEED_IDENTITY = {
  GIT_AUTHOR_NAME: 'Stepgate',
  GIT_AUTHOR_EMAIL: 'stepgate@localhost',
  GIT_COMMITTER_NAME: 'Stepgate',
  GIT_COMMITTER_EMAIL: 'stepgate@localhost',
};
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

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
  const gitDir = resolve(dir);
  const branch = options.branch ?? 'main';
  const created = !existsSync(join(gitDir, 'HEAD'));
  if (created) {
    await mkdir(gitDir, { recursive: true });
    await runGit(['init', '--quiet', '--bare', '-b', branch, gitDir]);
  }
  const git = (args: string[], env?: Record<string, string>): Promise<string> =>
    runGit([`--git-dir=${gitDir}`, ...args], env ? { env } : {}).then((out) =>
      out.toString('utf8').trim(),
    );
  await git(['config', 'http.receivepack', 'true']);
  // A reflog keeps force-pushed-over commits recoverable (and out of reach of gc for a while).
  await git(['config', 'core.logAllRefUpdates', 'true']);
  if (options.hookScript !== undefined) await installReportHook(gitDir, branch, options);

  let head = await resolveHead(git, branch);
  let seeded = false;
  if (head === undefined && options.seedFrom !== undefined) {
    head = await seed(git, branch, options.seedFrom);
    seeded = head !== undefined;
    if (!seeded) head = await resolveHead(git, branch);
  }
  return { dir: gitDir, created, seeded, head };
}

async function resolveHead(
  git: (args: string[]) => Promise<string>,
  branch: string,
): Promise<string | undefined> {
  const sha = await git(['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`]);
  return sha || undefined;
}

/** Commits the seed folder's files at the repository root; undefined if another caller won. */
async function seed(
  git: (args: string[], env?: Record<string, string>) => Promise<string>,
  branch: string,
  seedFrom: string,
): Promise<string | undefined> {
  const source = resolve(seedFrom);
  if (!(await stat(source).catch(() => undefined))?.isDirectory())
    throw new Error(`cannot seed the embedded policy repository: ${source} is not a folder`);
  const scratch = await mkdtemp(join(tmpdir(), 'stepgate-seed-'));
  try {
    const env = { ...SEED_IDENTITY, GIT_INDEX_FILE: join(scratch, 'index') };
    await git([`--work-tree=${source}`, 'add', '--all', '--', '.'], env);
    const tree = await git(['write-tree'], env);
    if (tree === EMPTY_TREE)
      throw new Error(`cannot seed the embedded policy repository: ${source} has no files`);
    const commit = await git(['commit-tree', tree, '-m', 'Initial policies'], env);
    try {
      // The empty old value makes this fail if the branch appeared meanwhile.
      await git(['update-ref', '-m', 'stepgate: seed', `refs/heads/${branch}`, commit, ''], env);
    } catch {
      return undefined;
    }
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function installReportHook(
  gitDir: string,
  branch: string,
  options: EmbeddedRepositoryOptions,
): Promise<void> {
  const command = [
    options.nodePath ?? process.execPath,
    resolve(options.hookScript!),
    options.policyPath ?? '.',
    branch,
    JSON.stringify(options.limits ?? {}),
  ]
    .map(shellQuote)
    .join(' ');
  const script = [
    '#!/bin/sh',
    '# Installed by the Stepgate control plane (rewritten at every start): tells the pusher',
    '# whether the pushed commit compiles and passes its tests. The push is accepted either way:',
    '# the control plane records failed versions and never distributes them.',
    `${command} || true`,
    'exit 0',
    '',
  ].join('\n');
  const hooks = join(gitDir, 'hooks');
  await mkdir(hooks, { recursive: true });
  const path = join(hooks, 'post-receive');
  await writeFile(path, script, { mode: 0o755 });
  await chmod(path, 0o755);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
