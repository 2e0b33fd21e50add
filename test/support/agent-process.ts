/**
 * The one launcher of the built agent for every suite (the agent suites' startAgentProcess and
 * the end-to-end AgentProcess are thin wrappers around it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from './control-plane-process.js';

/** The built entry point (`npm run build` produces it). */
export const AGENT_MAIN = join(REPO_ROOT, 'apps/agent/dist/main.js');

export interface SpawnAgentOptions {
  port: number;
  cacheDir: string;
  /** STEPGATE_* settings on top of the port, host, cache dir and log level. */
  env: Record<string, string>;
  logLevel: 'debug' | 'info';
  /** Command-line arguments. */
  args?: readonly string[];
  /** Receives everything the agent writes, stdout and stderr. */
  onOutput(text: string): void;
  /** Everything it wrote so far, for the error when it does not come up. */
  output(): string;
}

export interface SpawnedAgent {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the first answered /healthz. */
  readyInMs: number;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Spawns the agent on loopback with only STEPGATE_* settings (the parent environment is not
 * passed through, so a developer's settings never leak in) and resolves once /healthz answers.
 * Rejects with its output when it exits first (`the agent exited with <code>:`) or never answers
 * (then it is killed).
 */
export async function spawnAgent(options: SpawnAgentOptions): Promise<SpawnedAgent> {
  const started = performance.now();
  const child = spawn(process.execPath, [AGENT_MAIN, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      STEPGATE_AGENT_PORT: String(options.port),
      STEPGATE_AGENT_HOST: '127.0.0.1',
      STEPGATE_CACHE_DIR: options.cacheDir,
      STEPGATE_LOG_LEVEL: options.logLevel,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => options.onOutput(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => options.onOutput(chunk.toString()));
  const url = `http://127.0.0.1:${options.port}`;
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let readyInMs = 0;
  let failed: Error | undefined;
  const up = waitFor(
    `the agent on ${url}`,
    async () => {
      if (failed) throw failed;
      const ok = (await fetch(`${url}/healthz`)).ok;
      if (ok) readyInMs = performance.now() - started;
      return ok;
    },
    20_000,
    50,
  ).catch((error: Error) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw new Error(`${error.message}\n${options.output()}`);
  });
  await Promise.race([
    up,
    exited.then(async (code) => {
      await new Promise((r) => setTimeout(r, 20)); // let the last output arrive
      failed = new Error(`the agent exited with ${code}:\n${options.output()}`);
      throw failed;
    }),
  ]);
  return { child, url, readyInMs, exited };
}
