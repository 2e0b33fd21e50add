import type { Command } from 'commander';
import type { SourceView } from '@stepgate/protocol';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { firstLine, formatTable, formatUtc, printable, type Column } from '../output/table.js';

/** `stepgate sources`: the policy sources and how their last sync went. */
export async function sourcesCommand(
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('sources', options, io, async (client) => {
    const list = await client.listSources();
    return {
      data: list,
      text: list.sources.length === 0 ? 'No policy sources.' : formatSourceTable(list.sources),
    };
  });
}

/** `stepgate sources sync <id>`: queue a sync now (it may auto-activate what it brings). */
export async function syncSourceCommand(
  id: string,
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('sources sync', options, io, async (client) => {
    const ref = nonEmpty(id);
    if (ref === undefined) throw new UsageError('which source? stepgate sources sync <id>');
    const queued = await client.syncSource(ref);
    return {
      data: queued,
      text: `Queued a sync of ${printable(ref)}${queued.jobId === null ? '' : ` (job ${printable(queued.jobId)})`}; \`stepgate versions\` shows what it brings`,
    };
  });
}

function formatSourceTable(sources: readonly SourceView[]): string {
  const columns: Column<SourceView>[] = [
    { header: 'ID', value: (s) => s.id, maxWidth: 36 },
    { header: 'NAME', value: (s) => s.name },
    { header: 'KIND', value: (s) => s.kind },
    { header: 'URL', value: (s) => s.url ?? '-', maxWidth: 48 },
    { header: 'BRANCH', value: (s) => s.branch },
    {
      header: 'LAST SYNC (UTC)',
      value: (s) => (s.lastSyncAt === null ? '-' : formatUtc(s.lastSyncAt)),
    },
    { header: 'SHA', value: (s) => s.lastSyncedSha?.slice(0, 7) ?? '-' },
    {
      header: 'ERROR',
      value: (s) => (s.lastSyncError === null ? '-' : firstLine(s.lastSyncError)),
      maxWidth: 60,
    },
  ];
  return formatTable(columns, sources);
}

export function registerSourcesCommand(program: Command): void {
  const sources = addAdminOptions(
    program.command('sources').description('list policy sources and their last sync'),
  ).action(async (options: AdminOptions) => {
    process.exitCode = await sourcesCommand(options);
  });
  addAdminOptions(
    sources
      .command('sync')
      .description('queue a sync of a policy source now (operator; may need a step-up)')
      .argument('<id>', 'the source id (from `stepgate sources`)'),
  ).action(async (id: string, options: AdminOptions) => {
    process.exitCode = await syncSourceCommand(id, options);
  });
}
