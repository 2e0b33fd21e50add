import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import type { AuditEventView } from '@stepgate/protocol';
import {
  addAdminOptions,
  DEFAULT_LIMIT,
  parseLimit,
  type AdminOptions,
} from '../config/admin-options.js';
import { UsageError } from '../config/usage-error.js';
import { firstLine, formatTable, formatUtc, type Column } from '../output/table.js';

export interface AuditOptions extends AdminOptions {
  limit?: number;
  action?: string;
}

/** `stepgate audit`: the newest audit events (activations, rollbacks, shadow changes...). */
export async function auditCommand(
  options: AuditOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('audit', options, io, async (client) => {
    const action = options.action?.trim();
    if (action === '') throw new UsageError('--action needs a value, e.g. version.activate');
    const list = await client.listAudit({ limit: options.limit ?? DEFAULT_LIMIT, action });
    return {
      data: list,
      text: list.events.length === 0 ? 'No audit events.' : formatAuditTable(list.events),
    };
  });
}

export function registerAuditCommand(program: Command): void {
  addAdminOptions(
    program
      .command('audit')
      .description(
        'list audit events, newest first: who activated, rolled back or shadowed what, and why',
      )
      .option('--limit <n>', `how many events (default: ${DEFAULT_LIMIT})`, parseLimit)
      .option('--action <action>', 'only this action, e.g. version.activate'),
  ).action(async (options: AuditOptions) => {
    process.exitCode = await auditCommand(options);
  });
}

const AUDIT_COLUMNS: readonly Column<AuditEventView>[] = [
  { header: 'TIME (UTC)', value: (e) => formatUtc(e.at, true) },
  { header: 'ACTOR', value: (e) => e.actor, maxWidth: 32 },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => e.target ?? '-', maxWidth: 40 },
  { header: 'REASON', value: (e) => (e.reason === null ? '-' : firstLine(e.reason)), maxWidth: 60 },
];

export function formatAuditTable(events: readonly AuditEventView[]): string {
  return formatTable(AUDIT_COLUMNS, events);
}
