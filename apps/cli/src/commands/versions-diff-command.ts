import type { Command } from 'commander';
import type { VersionDiffResponse } from '@stepgate/protocol';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { printable } from '../output/table.js';
import { parseVersionRef } from './versions-command.js';

/**
 * `stepgate versions diff <a> [<b>]`: the file patches from version `a` to `b`, as `git diff a
 * b` reads; with `a` alone, from the version before `a` to `a`.
 */
export async function versionsDiffCommand(
  a: string,
  b: string | undefined,
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('versions diff', options, io, async (client) => {
    const diff =
      b === undefined
        ? await client.diffVersions(parseVersionRef(a))
        : await client.diffVersions(parseVersionRef(b), parseVersionRef(a));
    return { data: diff, text: formatVersionDiff(diff) };
  });
}

export function registerVersionsDiffCommand(versions: Command): void {
  addAdminOptions(
    versions
      .command('diff')
      .description(
        'show the file changes between two versions (of the whole policy folder), as unified diffs',
      )
      .argument('<a>', 'the version to diff (alone: against the version before it)')
      .argument('[b]', 'with two versions: the changes from <a> to <b>'),
  ).action(async (a: string, b: string | undefined, options: AdminOptions) => {
    process.exitCode = await versionsDiffCommand(a, b, options);
  });
}

/** Control characters a policy file may hold are not sent to the terminal (tabs are kept). */
function safeLine(line: string): string {
  return line
    .split('\t')
    .map((part) => printable(part))
    .join('\t');
}

export function formatVersionDiff(diff: VersionDiffResponse): string {
  const side = (v: { number: number; sha: string }) =>
    `version ${v.number} (${printable(v.sha.slice(0, 7))})`;
  const count = diff.files.length;
  const lines = [
    `${diff.from ? side(diff.from) : 'an empty tree'} -> ${side(diff.to)}: ${count === 0 ? 'no files differ' : `${count} file${count === 1 ? '' : 's'} changed`}`,
  ];
  for (const file of diff.files) {
    lines.push('');
    if (file.binary) lines.push(`Binary file ${safeLine(file.path)} ${file.status}`);
    else if (file.truncated)
      lines.push(`${safeLine(file.path)} ${file.status}: too large to show a patch`);
    else lines.push(...file.patch.trimEnd().split('\n').map(safeLine));
  }
  if (diff.truncated) lines.push('', 'More files differ than one answer lists.');
  return lines.join('\n');
}
