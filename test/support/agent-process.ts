/**
 * The suites' launcher of the built agent (the agent suites' startAgentProcess and the
 * end-to-end AgentProcess are thin wrappers around it), around the spawn the benchmarks share:
 * bench/support/app-process.js.
 */
import type { ChildProcess } from 'node:child_process';
import { AGENT_MAIN, launchAgent } from '../../bench/support/app-process.js';
import { waitFor } from './control-plane-process.js';
import { httpsRequest, type TlsClient } from './https-client.js';

export { AGENT_MAIN };

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
  /** The agent serves HTTPS (STEPGATE_TLS_* in `env`): /healthz is probed with this client. */
  https?: TlsClient;
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
  const child = launchAgent({
    port: options.port,
    args: options.args,
    env: {
      STEPGATE_CACHE_DIR: options.cacheDir,
      STEPGATE_LOG_LEVEL: options.logLevel,
      ...options.env,
    },
  });
  child.stdout.on('data', (chunk: Buffer) => options.onOutput(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => options.onOutput(chunk.toString()));
  const https = options.https;
  const url = `${https === undefined ? 'http' : 'https'}://127.0.0.1:${options.port}`;
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let readyInMs = 0;
  let failed: Error | undefined;
  const up = waitFor(
    `the agent on ${url}`,
    async () => {
      if (failed) throw failed;
      const ok =
        https === undefined
          ? (await fetch(`${url}/healthz`)).ok
          : (await httpsRequest(`${url}/healthz`, https)).status === 200;
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
