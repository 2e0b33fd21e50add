import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/**
 * `stepgate agent [flags]` runs the agent sidecar. The CLI never imports the agent (they are
 * separate deployables); it starts the agent as a child process with the same flags and
 * environment, and exits with its exit code.
 */
export const AGENT_MAIN = resolveAgentMain();

/**
 * The agent to run: the `stepgate-agent` bin of the installed @stepgate/agent package (a
 * dependency of this CLI). In the repository that package is the workspace's apps/agent, whose
 * tsc build (dist/main.js, rebuilt by every `tsc -b`) is preferred to its bundle, which only
 * `npm run build` refreshes; the published package ships the bundle alone. When the package
 * cannot be resolved at all, the workspace path is tried.
 */
export function resolveAgentMain(from: string = import.meta.url): string {
  let packageJson: string;
  try {
    packageJson = createRequire(from).resolve('@stepgate/agent/package.json');
  } catch {
    return fileURLToPath(new URL('../../../agent/dist/main.js', from));
  }
  const dir = dirname(packageJson);
  const built = join(dir, 'dist/main.js');
  if (existsSync(built)) return built;
  const { bin } = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    bin?: Record<string, string>;
  };
  return join(dir, bin?.['stepgate-agent'] ?? 'dist/stepgate-agent.js');
}

export function agentCommand(args: readonly string[], main = AGENT_MAIN): Promise<number> {
  if (!existsSync(main)) {
    process.stderr.write(
      `error: the agent is missing (${main}); install @stepgate/agent, or run npm run build in the repository\n`,
    );
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...shebangNodeFlags(main), main, ...args], {
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * The V8 flags the bundled agent's first line gives node (`#!/usr/bin/env -S node --flag…`, set
 * by scripts/bundle-agent.mjs): started through `node`, the agent gets them all the same. The
 * tsc build has no such line, hence none.
 */
export function shebangNodeFlags(main: string): string[] {
  let first: string;
  try {
    const head = Buffer.alloc(200);
    const fd = openSync(main, 'r');
    try {
      first = head
        .subarray(0, readSync(fd, head, 0, head.length, 0))
        .toString()
        .split('\n', 1)[0]!;
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
  const match = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=[\w.-]+)?)+)\s*$/.exec(first);
  return match === null ? [] : match[1]!.trim().split(' ');
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      'run the agent sidecar (flags and STEPGATE_* variables as for npm run start:agent; --help lists them; --reset-trust discards a poisoned cache and pins again)',
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[flags...]', 'agent flags, e.g. --url http://cp:8181 --token ... --port 8182')
    .action(async (flags: string[]) => {
      process.exitCode = await agentCommand(flags);
    });
}
