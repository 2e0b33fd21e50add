import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { formatGrantTable } from '../output/step-up-format.js';
import { printable } from '../output/table.js';

export interface GrantsOptions extends AdminOptions {
  subject?: string;
  all?: boolean;
}

export interface RevokeOptions extends AdminOptions {
  reason?: string;
}

/** `stepgate grants`: grants in force (or, with --all, expired and revoked too). */
export async function grantsCommand(
  options: GrantsOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('grants', options, io, async (client) => {
    const list = await client.listGrants({
      subject: nonEmpty(options.subject),
      all: options.all === true,
    });
    return {
      data: list,
      text: list.grants.length === 0 ? 'No grants.' : formatGrantTable(list.grants),
    };
  });
}

/** `stepgate grants revoke <id>`: agents stop honouring the grant at their next update. */
export async function revokeGrantCommand(
  id: string,
  options: RevokeOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('grants revoke', options, io, async (client) => {
    const ref = nonEmpty(id);
    if (ref === undefined) throw new UsageError('which grant? stepgate grants revoke <id>');
    await client.revokeGrant(ref, nonEmpty(options.reason));
    return { data: { id: ref, revoked: true }, text: `Revoked grant ${printable(ref)}` };
  });
}

export function registerGrantsCommand(program: Command): void {
  const grants = addAdminOptions(
    program
      .command('grants')
      .description(
        'list elevation and approval grants (table: id, subject, kind, scope, level, expiry)',
      )
      .option('--subject <subject>', 'only the grants of this principal')
      .option('--all', 'include expired and revoked grants'),
  ).action(async (options: GrantsOptions) => {
    process.exitCode = await grantsCommand(options);
  });
  addAdminOptions(
    grants
      .command('revoke')
      .description('revoke a grant before it expires')
      .argument('<id>', 'the grant id (from `stepgate grants`)')
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (id: string, options: RevokeOptions) => {
    process.exitCode = await revokeGrantCommand(id, options);
  });
}
