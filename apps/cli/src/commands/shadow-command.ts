import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { UsageError } from '../config/usage-error.js';
import { parseReason } from './rollback-command.js';
import { parseVersionRef, versionLabel } from './versions-command.js';

export interface ShadowOptions extends AdminOptions {
  off?: boolean;
  reason?: string;
}

/** `stepgate shadow <version>` / `stepgate shadow --off`: start or stop a dry-run version. */
export async function shadowCommand(
  ref: string | undefined,
  options: ShadowOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('shadow', options, io, async (client) => {
    const reason = parseReason(options.reason);
    if (options.off === true) {
      if (ref !== undefined) {
        throw new UsageError('give either a version to shadow or --off, not both');
      }
      const result = await client.clearShadow(reason);
      return { data: result, text: `Shadow mode off — revision ${result.revision}` };
    }
    if (ref === undefined) {
      throw new UsageError('give a version to run in shadow, or --off to stop shadow mode');
    }
    const result = await client.setShadow(parseVersionRef(ref), reason);
    return {
      data: result,
      text: `Shadowing ${versionLabel(result.shadowVersion)} — revision ${result.revision}`,
    };
  });
}

export function registerShadowCommand(program: Command): void {
  addAdminOptions(
    program
      .command('shadow')
      .description(
        'run a ready version in shadow (dry-run beside the active one, differences logged), or stop it with --off',
      )
      .argument('[version]', 'a version number, id, or commit sha prefix (7+ characters)')
      .option('--off', 'stop shadow mode')
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (ref: string | undefined, options: ShadowOptions) => {
    process.exitCode = await shadowCommand(ref, options);
  });
}
