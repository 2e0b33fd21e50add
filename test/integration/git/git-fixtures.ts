/**
 * Helpers for the git integration tests: temp dirs that clean up after themselves, and the real
 * `git` CLI run asynchronously (the smart-HTTP test server lives in the same process, so a
 * blocking spawnSync would deadlock) with a private configuration and a time limit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const examplePolicies = join(repoRoot, 'policies');

export interface GitRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Never the machine's or the user's git configuration; never a prompt. */
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
};
const IDENTITY = ['-c', 'user.name=Alice Example', '-c', 'user.email=alice@example.com'];

export function tempDirs(): { make(prefix: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `stepgate-${prefix}-`));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs git and resolves with its output whatever the exit status (see `gitOk`). */
export function git(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...IDENTITY, '-c', 'init.defaultBranch=main', ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...GIT_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs git and returns its trimmed stdout, failing loudly on a non-zero exit. */
export async function gitOk(args: string[], options: { cwd?: string } = {}): Promise<string> {
  const run = await git(args, options);
  if (run.status !== 0)
    throw new Error(`git ${args.join(' ')} exited ${run.status}\n${run.stdout}\n${run.stderr}`);
  return run.stdout.trim();
}

/** Writes `files` (path -> content) into `dir` and commits them; returns the new sha. */
export async function commitFiles(
  dir: string,
  files: Record<string, string | Buffer>,
  message: string,
  author?: { name: string; email: string },
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await gitOk(['add', '--all'], { cwd: dir });
  const who = author ? ['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`] : [];
  await gitOk([...who, 'commit', '--quiet', '-m', message], { cwd: dir });
  return gitOk(['rev-parse', 'HEAD'], { cwd: dir });
}

/** A bare repository at `<parent>/<name>` (the shape the smart-HTTP server serves). */
export async function initBare(parent: string, name = 'policies.git'): Promise<string> {
  const dir = join(parent, name);
  await gitOk(['init', '--quiet', '--bare', dir]);
  await gitOk(['--git-dir', dir, 'config', 'http.receivepack', 'true']);
  return dir;
}

/** A working repository with its first commit pushed nowhere yet. */
export async function initWork(dir: string, remoteUrl?: string): Promise<string> {
  await gitOk(['init', '--quiet', dir]);
  if (remoteUrl) await gitOk(['remote', 'add', 'origin', remoteUrl], { cwd: dir });
  return dir;
}

/** `http://user:password@host/...` for git CLI pushes to an authenticated test server. */
export function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = username;
  parsed.password = password;
  return parsed.toString();
}
