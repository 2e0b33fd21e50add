import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { UsageError } from '../config/usage-error.js';
import { parseVersionRef, versionLabel } from './versions-command.js';

export interface RollbackOptions extends AdminOptions {
  to?: string;
  reason: string;
}

/** `stepgate rollback --reason <text> [--to <version>]`: re-activate an earlier version. */
export async function rollbackCommand(
  options: RollbackOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('rollback', options, io, async (client) => {
    const reason = parseReason(options.reason);
    if (reason === undefined) throw new UsageError('a rollback needs a reason: --reason <text>');
    const to = options.to === undefined ? undefined : parseVersionRef(options.to);
    const result = await client.rollback({ to, reason });
    const from = result.from === null ? '' : ` from ${versionLabel(result.from)}`;
    return {
      data: result,
      text: `Rolled back to ${versionLabel(result.activeVersion)}${from} — revision ${result.revision}`,
    };
  });
}

export function registerRollbackCommand(program: Command): void {
  addAdminOptions(
    program
      .command('rollback')
      .description(
        're-activate an earlier policy version (by default the one active before the current one)',
      )
      .requiredOption('--reason <text>', 'why, for the audit log (required)')
      .option('--to <version>', 'the version to return to: number, id, or commit sha prefix'),
  ).action(async (options: RollbackOptions) => {
    process.exitCode = await rollbackCommand(options);
  });
}

/** A `--reason` as sent: trimmed, and absent when blank. */
export function parseReason(reason: string | undefined): string | undefined {
  const trimmed = reason?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
