import type { ChildProcessWithoutNullStreams, SpawnOptions } from 'node:child_process';

export const REPO_ROOT: string;
/** The built control plane's entry point (`npm run build` produces it). */
export const CONTROL_PLANE_MAIN: string;
/** The built agent's entry point (`npm run build` produces it). */
export const AGENT_MAIN: string;
export const AGENT_BUNDLE: string;

/** How a launcher starts the process: `spawn` by default; the benchmarks track theirs. */
export type Spawner = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => ChildProcessWithoutNullStreams;

/** Spawns the control plane on loopback `port` with the parent environment plus `env`. */
export function launchControlPlane(options: {
  port: number;
  env?: Record<string, string | undefined>;
  spawner?: Spawner;
}): ChildProcessWithoutNullStreams;

/**
 * Resolves once /healthz answers (60 s; `healthy` asks it, by default with fetch); rejects with
 * its output when it exits first.
 */
export function untilControlPlaneUp(
  child: ChildProcessWithoutNullStreams,
  url: string,
  output: () => string,
  healthy?: () => Promise<boolean>,
): Promise<void>;

/** Spawns the agent on loopback `port` with only PATH, STEPGATE_* defaults and `env`. */
export function launchAgent(options: {
  port: number;
  env?: Record<string, string>;
  args?: readonly string[];
  spawner?: Spawner;
  entry?: string;
  nodeArgs?: readonly string[];
}): ChildProcessWithoutNullStreams;
