import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { LiveDataChangeView } from '@stepgate/protocol';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import {
  addAdminOptions,
  DEFAULT_LIMIT,
  parseLimit,
  type AdminOptions,
} from '../config/admin-options.js';
import { UsageError } from '../config/usage-error.js';
import { firstLine, formatTable, formatUtc, printable, type Column } from '../output/table.js';
import { parseReason } from './rollback-command.js';

export interface DataOptions extends AdminOptions {
  key?: string;
  file?: string;
  reason?: string;
  limit?: number;
  before?: string;
}

export const DATA_ACTIONS = ['get', 'put', 'patch', 'delete', 'history'] as const;
type DataAction = (typeof DATA_ACTIONS)[number];

/**
 * `stepgate data get|put|patch|delete|history <name>`: live data through the admin API. Writes
 * take the value as an argument or `--file`, and need `--reason`.
 */
export async function dataCommand(
  action: string,
  name: string | undefined,
  value: string | undefined,
  options: DataOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand(`data ${action}`, options, io, async (client) => {
    if (!(DATA_ACTIONS as readonly string[]).includes(action))
      throw new UsageError(`unknown action "${action}": use one of ${DATA_ACTIONS.join(', ')}`);
    const verb = action as DataAction;
    if (verb === 'get' && name === undefined) {
      const list = await client.listData();
      const lines = list.documents.map(
        (d) =>
          `${d.name}  ${d.isDefault ? 'default' : `written at data revision ${d.revision} by ${printable(d.updatedBy ?? '?')}`}`,
      );
      return {
        data: list,
        text: [
          `Data revision ${list.revision}${list.versionNumber === null ? '' : ` (declared by version ${list.versionNumber})`}`,
          ...(lines.length === 0 ? ['No live data is declared.'] : lines),
        ].join('\n'),
      };
    }
    if (name === undefined) throw new UsageError(`data ${verb} needs the document's name`);
    if (verb === 'get') {
      if (options.key !== undefined) throw new UsageError('--key is for put and delete');
      const doc = await client.getData(name);
      const state = doc.isDefault
        ? 'its default'
        : `written at data revision ${doc.revision} by ${printable(doc.updatedBy ?? '?')}`;
      return { data: doc, text: `${JSON.stringify(doc.value, null, 2)}\n(${name}: ${state})` };
    }
    if (verb === 'history') {
      const before = options.before === undefined ? undefined : parseRevision(options.before);
      const page = await client.dataHistory(name, {
        limit: options.limit ?? DEFAULT_LIMIT,
        before,
      });
      const more = page.nextCursor === null ? '' : `\n(older: --before ${page.nextCursor})`;
      return {
        data: page,
        text:
          page.changes.length === 0
            ? `No writes of ${name}.`
            : `${formatHistory(page.changes)}${more}`,
      };
    }
    const reason = parseReason(options.reason);
    if (reason === undefined)
      throw new UsageError(`a live-data write needs a reason: --reason <text>`);
    if (verb === 'patch' && options.key !== undefined)
      throw new UsageError('--key is for put and delete; a patch names keys in its body');
    let json: string | undefined;
    if (verb !== 'delete') json = await valueText(value, options.file);
    else if (value !== undefined || options.file !== undefined)
      throw new UsageError('delete takes no value (with --key it removes that key)');
    const method = verb === 'put' ? 'PUT' : verb === 'patch' ? 'PATCH' : 'DELETE';
    const result = await client.writeData({ method, name, key: options.key, json, reason });
    const changed =
      result.changed.length === 0
        ? 'nothing changed'
        : `changed ${result.changed.map((p) => (p === '' ? '(whole)' : p)).join(', ')}`;
    return {
      data: result,
      text: `${name}: data revision ${result.revision} (${changed})`,
    };
  });
}

/** The JSON text of a write: the argument or the file, checked to be JSON before it is sent. */
async function valueText(value: string | undefined, file: string | undefined): Promise<string> {
  if (value !== undefined && file !== undefined)
    throw new UsageError('give the value as an argument or with --file, not both');
  let text: string;
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read --file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  } else if (value !== undefined) text = value;
  else
    throw new UsageError(
      'give the value as JSON, e.g. \'["203.0.113.0/24"]\', or with --file <file>',
    );
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `the value is not JSON (${(error as Error).message}); quote text as a JSON string, e.g. '"on"'`,
    );
  }
  return text;
}

function parseRevision(text: string): number {
  const revision = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(revision) || revision < 1)
    throw new UsageError(`--before takes a data revision (a whole number from 1), not "${text}"`);
  return revision;
}

const HISTORY_COLUMNS: readonly Column<LiveDataChangeView>[] = [
  { header: 'REV', value: (c) => String(c.revision) },
  { header: 'TIME (UTC)', value: (c) => formatUtc(c.at, true) },
  { header: 'ACTOR', value: (c) => c.actor, maxWidth: 32 },
  { header: 'OP', value: (c) => (c.key === null ? c.op : `${c.op} ${c.key}`), maxWidth: 40 },
  {
    header: 'CHANGED',
    value: (c) => c.changed.map((p) => (p === '' ? '(whole)' : p)).join(' ') || '-',
    maxWidth: 40,
  },
  { header: 'REASON', value: (c) => firstLine(c.reason), maxWidth: 60 },
];

function formatHistory(changes: readonly LiveDataChangeView[]): string {
  return formatTable(HISTORY_COLUMNS, changes);
}

export function registerDataCommand(program: Command): void {
  addAdminOptions(
    program
      .command('data')
      .description(
        'live data: get (no name: list), put, patch (RFC 7396 merge patch), delete (back to the default) or history of a document declared under liveData: in stepgate.yaml',
      )
      .argument('<action>', `one of ${DATA_ACTIONS.join(', ')}`)
      .argument('[name]', 'the document, e.g. blocked_ips')
      .argument('[value]', 'put/patch: the value or merge patch as JSON')
      .option('--key <key>', 'put/delete one key of an object document')
      .option('--file <file>', 'put/patch: read the JSON from this file')
      .option('--reason <text>', 'why, for the audit log (required for writes)')
      .option('--limit <n>', `history: how many writes (default: ${DEFAULT_LIMIT})`, parseLimit)
      .option('--before <revision>', 'history: only writes before this data revision'),
  ).action(
    async (
      action: string,
      name: string | undefined,
      value: string | undefined,
      options: DataOptions,
    ) => {
      process.exitCode = await dataCommand(action, name, value, options);
    },
  );
}
