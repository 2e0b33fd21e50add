import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/**
 * `stepgate agent [flags]` runs the agent sidecar. The CLI never imports the agent (they are
 * separate deployables); it starts the built agent as a child process with the same flags
 * and environment, and exits with its exit code.
 */
export const AGENT_MAIN = fileURLToPath(new URL('../../../agent/dist/main.js', import.meta.url));

export function agentCommand(args: readonly string[], main = AGENT_MAIN): Promise<number> {
  if (!existsSync(main)) {
    process.stderr.write(`error: the agent is not built (${main} is missing); run npm run build\n`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: 'inherit' });
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
