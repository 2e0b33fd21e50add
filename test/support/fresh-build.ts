/**
 * An up-to-date build of an app before a suite starts it as a process: built when its dist is
 * missing or older than any of its sources. Suites running in parallel wait on one lock (the
 * apps share the packages' build) instead of building twice.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MAIN } from './agent-process.js';
import { CONTROL_PLANE_MAIN, REPO_ROOT } from './control-plane-process.js';

const BUILD_LOCK = join(tmpdir(), 'stepgate-it-control-plane-build.lock');
/** A lock older than this is a leftover of a killed run. */
const LOCK_STALE_MS = 300_000;
const BUILD_TIMEOUT_MS = 280_000;

interface BuildTarget {
  name: string;
  /** The built entry point the suites run. */
  main: string;
  /** Rewritten by `tsc -b` on every build: its mtime is the build's time. */
  buildInfo: string;
  /** Sources (spec files aside) that a build compiles, relative to the repository root. */
  sources: string[];
  command: [string, ...string[]];
}

const TSC = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const PACKAGES = ['packages/policy/src', 'packages/protocol/src'];

const CONTROL_PLANE: BuildTarget = {
  name: 'the control plane',
  main: CONTROL_PLANE_MAIN,
  buildInfo: join(REPO_ROOT, 'apps/control-plane/tsconfig.tsbuildinfo'),
  sources: ['apps/control-plane/src', ...PACKAGES, 'prisma'],
  // The whole workspace, Prisma client included (`npm run build`).
  command: ['npm', 'run', 'build', '--silent'],
};

const AGENT: BuildTarget = {
  name: 'the agent',
  main: AGENT_MAIN,
  buildInfo: join(REPO_ROOT, 'apps/agent/tsconfig.tsbuildinfo'),
  sources: ['apps/agent/src', 'packages/agent-core/src', ...PACKAGES],
  command: [process.execPath, TSC, '-b', 'apps/agent'],
};

const CONSOLE_DIST = join(REPO_ROOT, 'apps/console/dist/index.html');
const CONSOLE: BuildTarget = {
  name: 'the console',
  main: CONSOLE_DIST,
  // Vite rewrites index.html on every build.
  buildInfo: CONSOLE_DIST,
  sources: ['apps/console/src', 'apps/console/index.html', 'apps/console/vite.config.ts'],
  command: ['npm', 'run', 'build', '--silent', '-w', '@stepgate/console'],
};

/**
 * Builds the control plane (`npm run build`) when its dist is missing or stale, and the
 * console it serves at /console.
 */
export async function ensureControlPlaneBuilt(): Promise<void> {
  await ensureBuilt(CONTROL_PLANE);
  await ensureBuilt(CONSOLE);
}

/** Builds apps/agent (and the packages it references) when its dist is missing or stale. */
export function ensureAgentBuilt(): Promise<void> {
  return ensureBuilt(AGENT);
}

function newestSourceMtime(dir: string): number {
  if (statSync(dir).isFile()) return statSync(dir).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(path));
    else if (!entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isFresh(target: BuildTarget): boolean {
  if (!existsSync(target.main) || !existsSync(target.buildInfo)) return false;
  const built = statSync(target.buildInfo).mtimeMs;
  return target.sources
    .map((dir) => join(REPO_ROOT, dir))
    .every((dir) => !existsSync(dir) || newestSourceMtime(dir) <= built);
}

async function ensureBuilt(target: BuildTarget): Promise<void> {
  if (isFresh(target)) return;
  await takeLock();
  try {
    if (isFresh(target)) return;
    const result = await run(target.command);
    if (result.code !== 0) {
      const why = `building ${target.name} failed (${target.command.join(' ')}, exit ${result.code}):\n${result.output}`;
      // Sources being edited right now may not compile; a previous build still runs the suites.
      if (!existsSync(target.main)) throw new Error(why);
      console.warn(`${why}\nusing the existing build ${target.main}`);
    }
  } finally {
    rmdirSync(BUILD_LOCK);
  }
}

async function takeLock(): Promise<void> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      return;
    } catch {
      try {
        if (Date.now() - statSync(BUILD_LOCK).mtimeMs > LOCK_STALE_MS) rmdirSync(BUILD_LOCK);
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for another build');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function run([command, ...args]: BuildTarget['command']): Promise<{
  code: number | null;
  output: string;
}> {
  return new Promise((resolveRun, reject) => {
    // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}
