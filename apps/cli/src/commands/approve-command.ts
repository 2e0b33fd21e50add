import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { formatApproval, formatApprovalTable } from '../output/step-up-format.js';

export interface ApproveOptions extends AdminOptions {
  comment?: string;
}

/**
 * `stepgate approve <id>` / `stepgate deny <id>`: decide an approval request (the token's
 * subject is the approver; the control plane refuses requesters approving themselves).
 * `stepgate approve` without an id lists the pending requests.
 */
export async function approveCommand(
  verdict: 'approve' | 'deny',
  id: string | undefined,
  options: ApproveOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand(verdict, options, io, async (client) => {
    const ref = nonEmpty(id);
    if (ref === undefined) {
      if (verdict === 'deny') throw new UsageError('which request? stepgate deny <id>');
      const list = await client.listApprovals({ status: 'pending' });
      return {
        data: list,
        text:
          list.approvals.length === 0
            ? 'No pending approval requests.'
            : `${formatApprovalTable(list.approvals)}\n\nApprove one with: npx stepgate approve <id>   (or deny it: npx stepgate deny <id>)`,
      };
    }
    const approval = await client.decideApproval(ref, verdict, nonEmpty(options.comment));
    return { data: approval, text: formatApproval(approval) };
  });
}

export function registerApproveCommands(program: Command): void {
  addAdminOptions(
    program
      .command('approve')
      .description('approve a pending approval request; without an id, list the pending ones')
      .argument('[id]', 'the approval request id (printed by `stepgate request`)')
      .option('--comment <text>', 'a note for the requester and the audit log'),
  ).action(async (id: string | undefined, options: ApproveOptions) => {
    process.exitCode = await approveCommand('approve', id, options);
  });
  addAdminOptions(
    program
      .command('deny')
      .description('deny a pending approval request')
      .argument('<id>', 'the approval request id')
      .option('--comment <text>', 'why, for the requester and the audit log'),
  ).action(async (id: string, options: ApproveOptions) => {
    process.exitCode = await approveCommand('deny', id, options);
  });
}
