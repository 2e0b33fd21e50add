// The one launcher of the built apps (the control plane and the agent) for the test suites and
// the benchmarks: the entry points, the settings every run gives them, and the wait for /healthz.
// What a run owns around the process (its database, its Redis keys, restarts, clean-up) stays
// with each caller. Plain JS so the benchmarks run it without a build; app-process.d.ts types it
// for test/support/control-plane-process.ts and test/support/agent-process.ts.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { waitFor } from './processes.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The built entry points (`npm run build` produces them). */
export const CONTROL_PLANE_MAIN = join(REPO_ROOT, 'apps/control-plane/dist/main.js');
export const AGENT_MAIN = join(REPO_ROOT, 'apps/agent/dist/main.js');
/** The one-file agent that `@stepgate/agent` ships (scripts/bundle-agent.mjs): what the bench measures. */
export const AGENT_BUNDLE = join(REPO_ROOT, 'apps/agent/dist/stepgate-agent.js');

/**
 * Spawns the control plane on loopback `port`. It inherits the parent environment (DATABASE_URL,
 * REDIS_URL of the machine); `env` comes last and wins. `spawner` lets the benchmarks track it.
 */
export function launchControlPlane({ port, env = {}, spawner = spawn }) {
  return spawner(process.execPath, [CONTROL_PLANE_MAIN], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // No Git polling during a run: a run pushes, and a poll would race it.
      STEPGATE_POLL_INTERVAL: '1h',
      STEPGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Resolves once the control plane at `url` answers /healthz (60 s; `healthy` asks it, by default
 * with fetch); rejects with its output when it exits first.
 */
export async function untilControlPlaneUp(
  child,
  url,
  output,
  healthy = async () => (await fetch(`${url}/healthz`)).ok,
) {
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`control plane exited with ${code}:\n${output()}`)),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([waitFor(`the control plane on ${url}`, healthy, 60_000), exited]);
}

/**
 * Spawns the agent on loopback `port` with only PATH and STEPGATE_* settings: the parent
 * environment is not passed through, so a developer's settings never leak in. `env` comes last
 * and wins (STEPGATE_LOG_LEVEL defaults to warn). `entry` picks the tsc build (the default) or
 * AGENT_BUNDLE; `nodeArgs` go before it (e.g. --cpu-prof).
 */
export function launchAgent({
  port,
  env = {},
  args = [],
  spawner = spawn,
  entry = AGENT_MAIN,
  nodeArgs = [],
}) {
  return spawner(process.execPath, [...nodeArgs, entry, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      STEPGATE_AGENT_PORT: String(port),
      STEPGATE_AGENT_HOST: '127.0.0.1',
      STEPGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
