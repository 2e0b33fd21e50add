import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTROL_PLANE_MAIN,
  REPO_ROOT,
  launchControlPlane,
  untilControlPlaneUp,
} from '../../bench/support/app-process.js';
import {
  dropDatabase as dropDatabaseOf,
  dropRedisPrefix,
} from '../../bench/support/run-isolation.js';
import { httpsRequest, type TlsClient } from './https-client.js';

export { CONTROL_PLANE_MAIN, REPO_ROOT };
const ADMIN_DATABASE = 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface ControlPlaneProcess {
  url: string;
  adminToken: string;
  databaseUrl: string;
  databaseName: string;
  redisPrefix: string;
  dataDir: string;
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** SIGKILL at once: no shutdown hooks (a crash); `restart()` starts it again. */
  kill(): Promise<void>;
  /** Starts it again on the same port, database, Redis prefix and data directory. */
  restart(): Promise<void>;
  /** Stops it and drops its database, its Redis keys and its data directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
  );
}

/** Drops a database of the suites' PostgreSQL (its connections terminated). */
export function dropDatabase(name: string): Promise<void> {
  return dropDatabaseOf(ADMIN_DATABASE, name);
}

export interface StartOptions {
  /**
   * Start another replica of this control plane: same database, Redis prefix, data directory
   * (so the same signing key) and admin token, its own port. Its destroy() only stops it; the
   * shared database and directory belong to the first one.
   */
  replicaOf?: ControlPlaneProcess;
  /** Listen on this port (a browser test must know it to name the WebAuthn origin). */
  port?: number;
  /** It serves HTTPS (STEPGATE_TLS_* in `env`): `url` is https:// and /healthz is probed so. */
  https?: TlsClient;
}

export { dropRedisPrefix };

/**
 * Starts the real control plane (built JS) as a child process with its own database,
 * Redis key prefix, data directory and port, so parallel runs and leftovers never collide.
 */
export async function startControlPlane(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<ControlPlaneProcess> {
  const id = randomBytes(5).toString('hex');
  const shared = options.replicaOf;
  const databaseName = shared?.databaseName ?? `stepgate_it_${id}`;
  const databaseUrl = shared?.databaseUrl ?? `postgresql://postgres@127.0.0.1:5432/${databaseName}`;
  const redisPrefix = shared?.redisPrefix ?? `stepgate-it-${id}`;
  const dataDir = shared?.dataDir ?? mkdtempSync(join(tmpdir(), 'stepgate-cp-'));
  const adminToken = shared?.adminToken ?? `sg_test_admin_${randomBytes(16).toString('hex')}`;
  /** Cleans up what this process owns: nothing for a replica. */
  const release = async () => {
    if (shared) return;
    await dropDatabase(databaseName).catch(() => undefined);
    const redisUrl = env.REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    await dropRedisPrefix(redisUrl, redisPrefix).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const port = options.port ?? (await freePort());
  const https = options.https;
  const url = `${https === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    const running = launchControlPlane({
      port,
      env: {
        DATABASE_URL: databaseUrl,
        STEPGATE_REDIS_PREFIX: redisPrefix,
        STEPGATE_DATA_DIR: dataDir,
        STEPGATE_ADMIN_TOKEN: adminToken,
        // The suites' Git servers and issuers listen on loopback, which a real deployment
        // refuses by default (STEPGATE_ALLOW_PRIVATE_URLS): allow exactly that.
        STEPGATE_ALLOW_PRIVATE_URLS: '127.0.0.0/8,::1/128',
        ...env,
      },
    });
    child = running;
    running.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    running.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await untilControlPlaneUp(
      running,
      url,
      () => log,
      https === undefined
        ? undefined
        : async () => (await httpsRequest(`${url}/healthz`, https)).status === 200,
    );
  };

  const stop = async () => {
    const running = child;
    // A process ended by a signal has exitCode null but signalCode set: it is gone too.
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise<void>((r) => running.once('exit', () => r()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (error) {
    // A process that never came up leaves nothing behind either.
    await stop().catch(() => undefined);
    await release();
    throw error;
  }
  return {
    url,
    adminToken,
    databaseUrl,
    databaseName,
    redisPrefix,
    dataDir,
    output: () => log,
    stop,
    kill: async () => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const gone = new Promise<void>((r) => running.once('exit', () => r()));
      running.kill('SIGKILL');
      await gone;
    },
    restart: async () => {
      await stop();
      await start();
    },
    destroy: async () => {
      await stop();
      await release();
    },
  };
}

/** fetch against the control plane with a bearer token; returns status and parsed JSON. */
export async function api(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics, git) — keep the text
  }
  return { status: response.status, body: parsed };
}

export interface ExitedProcess {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The process was killed because it outlived `timeoutMs`. */
  timedOut: boolean;
}

/**
 * Runs the built control plane with exactly the harness defaults plus `env` and waits for it to
 * exit (for start-up failures). Killed after `timeoutMs`; the caller cleans up any database.
 */
export async function runControlPlaneToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ExitedProcess> {
  const port = await freePort();
  return new Promise((resolveRun, reject) => {
    const child = launchControlPlane({ port, env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut });
    });
  });
}
