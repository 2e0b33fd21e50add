import type { Command } from 'commander';
import {
  processIo,
  runAdminCommand,
  type AdminIo,
  type AdminOutput,
} from '../api/admin-command-runner.js';
import type { VersionDetail, VersionView } from '@stepgate/protocol';
import {
  addAdminOptions,
  DEFAULT_LIMIT,
  parseLimit,
  type AdminOptions,
} from '../config/admin-options.js';
import { UsageError } from '../config/usage-error.js';
import { firstLine, formatTable, formatUtc, printable, type Column } from '../output/table.js';
import { registerVersionsDiffCommand } from './versions-diff-command.js';

export interface VersionsOptions extends AdminOptions {
  limit?: number;
}

/** `stepgate versions [version]`: the newest versions as a table, or one version in detail. */
export async function versionsCommand(
  ref: string | undefined,
  options: VersionsOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('versions', options, io, async (client): Promise<AdminOutput> => {
    if (ref !== undefined) {
      const version = await client.getVersion(parseVersionRef(ref));
      return { data: version, text: formatVersionDetail(version) };
    }
    const list = await client.listVersions({ limit: options.limit ?? DEFAULT_LIMIT });
    return {
      data: list,
      text: list.versions.length === 0 ? 'No versions yet.' : formatVersionTable(list.versions),
    };
  });
}

export function registerVersionsCommand(program: Command): void {
  const versions = addAdminOptions(
    program
      .command('versions')
      .description('list policy versions, newest first, or show one version with its errors')
      .argument('[version]', 'a version number, id, or commit sha prefix (7+ characters)')
      .option('--limit <n>', `how many versions to list (default: ${DEFAULT_LIMIT})`, parseLimit),
  ).action(async (ref: string | undefined, options: VersionsOptions) => {
    process.exitCode = await versionsCommand(ref, options);
  });
  registerVersionsDiffCommand(versions);
}

const VERSION_REF =
  /^(\d+|[0-9a-f]{7,64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** Checks a `<version>` argument: a number (12), an id (uuid), or a sha prefix of 7+ characters. */
export function parseVersionRef(ref: string): string {
  const trimmed = ref.trim();
  if (!VERSION_REF.test(trimmed)) {
    throw new UsageError(
      `'${ref}' is not a version: give its number (12), its id (a uuid) or a commit sha prefix of at least 7 characters`,
    );
  }
  return trimmed;
}

/** `version 12 (abc1234)` */
export function versionLabel(version: VersionView): string {
  return `version ${version.number} (${shortSha(version.sha)})`;
}

function shortSha(sha: string): string {
  return printable(sha.slice(0, 7));
}

function markers(version: VersionView): string {
  return [
    version.active ? 'ACTIVE' : '',
    version.shadow ? 'SHADOW' : '',
    version.forcePush ? 'force-push' : '',
  ]
    .filter((marker) => marker !== '')
    .join(' ');
}

function testsSummary(version: VersionView): string {
  if (version.errorCount > 0)
    return `${version.errorCount} error${version.errorCount === 1 ? '' : 's'}`;
  if (version.tests === null) return '-';
  return `${version.tests.passed}/${version.tests.passed + version.tests.failed}`;
}

const VERSION_COLUMNS: readonly Column<VersionView>[] = [
  { header: 'VERSION', value: (v) => String(v.number), align: 'right' },
  { header: 'STATUS', value: (v) => v.status },
  { header: 'MARKERS', value: markers },
  { header: 'SHA', value: (v) => shortSha(v.sha) },
  { header: 'AUTHOR', value: (v) => v.author, maxWidth: 24 },
  { header: 'COMMITTED (UTC)', value: (v) => formatUtc(v.committedAt) },
  { header: 'TESTS', value: testsSummary, align: 'right' },
  { header: 'MESSAGE', value: (v) => firstLine(v.message), maxWidth: 60 },
];

export function formatVersionTable(versions: readonly VersionView[]): string {
  return formatTable(VERSION_COLUMNS, versions);
}

export function formatVersionDetail(version: VersionDetail): string {
  const mark = markers(version);
  const lines = [
    `Version ${version.number}: ${version.status}${mark === '' ? '' : ` (${mark})`}`,
    `  id         ${printable(version.id)}`,
    `  commit     ${printable(version.sha)} on ${printable(version.branch)} by ${printable(version.author)}, ${formatUtc(version.committedAt)} UTC`,
    `  synced     ${formatUtc(version.createdAt)} UTC`,
    `  bundle     ${version.bundleHash === null ? '-' : `${printable(version.bundleHash)}${version.size === null ? '' : ` (${version.size} bytes)`}`}`,
    `  tests      ${version.tests === null ? '-' : `${version.tests.passed} passed, ${version.tests.failed} failed`}`,
    '',
    ...version.message
      .trimEnd()
      .split(/\r?\n/)
      .map((line) => `    ${printable(line)}`),
  ];
  if (version.errors.length > 0) {
    lines.push('', `Errors (${version.errors.length}):`);
    for (const error of version.errors) {
      const line = error.line ?? undefined;
      const where = [error.file, line, line === undefined ? undefined : (error.column ?? undefined)]
        .filter((part) => part !== undefined)
        .join(':');
      const policy = error.policy ?? undefined;
      const rule = error.rule ?? undefined;
      const source =
        policy === undefined ? '' : ` (${rule === undefined ? policy : `${policy}/${rule}`})`;
      lines.push(`  ${printable(`${where}  ${error.message} [${error.code}]${source}`)}`);
    }
  }
  lines.push(...impactLines(version));
  return lines.join('\n');
}

/** The version's replay over the 24 h before it was synced, and the activation gate's hold. */
function impactLines(version: VersionDetail): string[] {
  const { replay, activationHeld: held } = version;
  if (!replay && !held) return [];
  const lines = [''];
  if (replay) {
    const window = `${formatUtc(replay.since)} to ${formatUtc(replay.until)} UTC`;
    if (replay.status === 'done' && replay.totals) {
      const { changed, replayed, notReplayable } = replay.totals;
      lines.push(
        `Impact (replay ${printable(replay.id)}, ${window}): ${changed} of ${replayed} decisions change${notReplayable > 0 ? `, ${notReplayable} not replayable` : ''}`,
      );
      for (const { change, count } of replay.changes)
        lines.push(`  ${printable(change)}  ${count}`);
      if (changed > 0) lines.push(`  details: stepgate replay ${version.number}`);
    } else {
      const error = replay.error ? `: ${printable(replay.error)}` : '';
      lines.push(`Impact (replay ${printable(replay.id)}, ${window}): ${replay.status}${error}`);
    }
  }
  if (held)
    lines.push(
      `Activation held by the gate (activation.maxChanged ${printable(held.limit)}): ${printable(held.reason)}`,
      `  to activate it anyway: stepgate activate ${version.number} --reason '<why>'`,
    );
  return lines;
}
