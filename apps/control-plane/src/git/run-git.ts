import { spawn } from 'node:child_process';
import { GitSourceError } from './git-errors.js';

export interface RunGitOptions {
  /** Usually `--git-dir` is passed in `args` instead. */
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Default 30 s; the process is killed when it runs longer. */
  timeoutMs?: number;
  /** Default 64 MiB; more output fails the command rather than exhausting memory. */
  maxOutputBytes?: number;
}

/**
 * Runs the `git` CLI and resolves with its stdout; a non-zero exit, a timeout or too much output
 * rejects with a GitSourceError quoting the command and the first line of stderr.
 */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<Buffer> {
  const maxOutput = options.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: string | undefined;
    const stop = (reason: string): void => {
      failure ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(`timed out after ${options.timeoutMs ?? 30_000} ms`),
      options.timeoutMs ?? 30_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutput) stop(`output exceeds ${maxOutput} bytes`);
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    // The command may exit before reading all its input; its exit status tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const fail = (detail: string): void => {
      clearTimeout(timer);
      reject(new GitSourceError('git/command_failed', `git ${args[0] ?? ''} failed: ${detail}`));
    };
    // Spawning itself failed (no git on PATH): no 'close' is guaranteed to follow.
    child.on('error', (error) => {
      if (child.pid === undefined) fail(error.message);
      else stop(error.message);
    });
    child.on('close', (code) => {
      if (child.pid === undefined) return;
      clearTimeout(timer);
      if (failure === undefined && code === 0) return resolve(Buffer.concat(chunks));
      fail(failure ?? (stderr.trim().split('\n')[0] || `exit code ${code ?? 'unknown'}`));
    });
  });
}
