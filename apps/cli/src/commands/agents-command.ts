import { Option, type Command } from 'commander';
import type { AgentView } from '@stepgate/protocol';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { colourStatus, stdoutStyle } from '../output/colour.js';
import { createStyle, type Style } from '../output/style.js';
import { formatTable, formatUtc, type Column } from '../output/table.js';

export interface AgentsOptions extends AdminOptions {
  status?: 'connected' | 'disconnected';
}

/** `stepgate agents`: the agents the control plane knows, with their revisions. */
export async function agentsCommand(
  options: AgentsOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('agents', options, io, async (client) => {
    const list = await client.listAgents({ status: options.status });
    const style = io.env === undefined ? stdoutStyle() : createStyle(false);
    return {
      data: list,
      text: list.agents.length === 0 ? 'No agents.' : formatAgentTable(list.agents, style),
    };
  });
}

const revision = (value: number | null): string => (value === null ? '-' : String(value));

export function formatAgentTable(agents: readonly AgentView[], style: Style): string {
  const columns: Column<AgentView>[] = [
    { header: 'ID', value: (a) => a.id, maxWidth: 40 },
    {
      header: 'STATUS',
      value: (a) => (a.suspect ? `${a.status} SUSPECT` : a.status),
      paint: (cell, a) =>
        colourStatus(style, cell, a.suspect ? false : a.status === 'connected' ? true : 'warn'),
    },
    { header: 'REVISION', value: (a) => revision(a.activeRevision), align: 'right' },
    { header: 'SHADOW', value: (a) => revision(a.shadowRevision), align: 'right' },
    { header: 'DATA', value: (a) => String(a.dataRevision), align: 'right' },
    { header: 'LAST SEEN (UTC)', value: (a) => formatUtc(a.lastSeenAt, true) },
    { header: 'VERSION', value: (a) => a.agentVersion ?? '-' },
    {
      header: 'LABELS',
      value: (a) =>
        Object.entries(a.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '-',
      maxWidth: 40,
    },
  ];
  return formatTable(columns, agents);
}

export function registerAgentsCommand(program: Command): void {
  addAdminOptions(
    program
      .command('agents')
      .description('list agents: status, the revision each enforces, live-data revision, last seen')
      .addOption(
        new Option('--status <status>', 'only connected or disconnected agents').choices([
          'connected',
          'disconnected',
        ]),
      ),
  ).action(async (options: AgentsOptions) => {
    process.exitCode = await agentsCommand(options);
  });
}
