import { InvalidArgumentError, type Command } from 'commander';
import type { ConnectionFlags } from './connection.js';

/** Options shared by every admin command. */
export interface AdminOptions extends ConnectionFlags {
  json?: boolean;
}

export const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/** Adds `--url`, `--token` and `--json` to an admin command. */
export function addAdminOptions(command: Command): Command {
  return addConnectionOptions(command).option('--json', 'print the control-plane response as JSON');
}

/** Adds `--url`, `--token` and `--profile` (for commands whose output is not the control plane's answer). */
export function addConnectionOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `control-plane URL (default: $STEPGATE_URL, else the profile's, else http://localhost:8181)`,
    )
    .option(
      '--token <token>',
      "API token (default: $STEPGATE_TOKEN, or the file named by $STEPGATE_TOKEN_FILE, else the profile's; all keep it out of `ps`)",
    )
    .option(
      '--profile <name>',
      'use this profile saved by `stepgate login` (default: $STEPGATE_PROFILE, else "default")',
    );
}

/** commander argument parser for `--limit <n>`: a whole number from 1 to 1000. */
export function parseLimit(value: string): number {
  const limit = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LIMIT}.`);
  }
  return limit;
}
