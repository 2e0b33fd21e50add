import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { parseReason } from './rollback-command.js';
import { parseVersionRef, versionLabel } from './versions-command.js';

export interface ActivateOptions extends AdminOptions {
  reason?: string;
}

/** `stepgate activate <version>`: make a ready version the one agents enforce. */
export async function activateCommand(
  ref: string,
  options: ActivateOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('activate', options, io, async (client) => {
    const result = await client.activate(parseVersionRef(ref), parseReason(options.reason));
    return {
      data: result,
      text: `Activated ${versionLabel(result.activeVersion)} — revision ${result.revision}`,
    };
  });
}

export function registerActivateCommand(program: Command): void {
  addAdminOptions(
    program
      .command('activate')
      .description('activate a ready policy version: agents enforce it from the next revision')
      .argument('<version>', 'a version number, id, or commit sha prefix (7+ characters)')
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (ref: string, options: ActivateOptions) => {
    process.exitCode = await activateCommand(ref, options);
  });
}
