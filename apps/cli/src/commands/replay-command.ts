import { stat } from 'node:fs/promises';
import { compile, parseDuration } from '@stepgate/policy';
import type { Replay, ReplayResult } from '@stepgate/protocol';
import type { Command } from 'commander';
import { processIo, reportFailure, type AdminIo } from '../api/admin-command-runner.js';
import { ControlPlaneClient, type ReplayRequest } from '../api/control-plane-client.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { resolveConnection } from '../config/connection.js';
import { UsageError } from '../config/usage-error.js';
import { createProgress } from '../output/progress.js';
import { createStyle } from '../output/style.js';
import { formatCompileErrors } from '../output/test-report.js';
import { PolicyDirError, readPolicyDir } from '../policy-files/read-policy-dir.js';
import { formatTable, formatUtc, printable } from '../output/table.js';
import { parseVersionRef } from './versions-command.js';

/** Exit codes of `stepgate replay`: a CI step can gate on "this change changes nothing". */
export const EXIT_NO_CHANGE = 0;
export const EXIT_CHANGES = 1;
export const EXIT_ERROR = 2;

export interface ReplayOptions extends AdminOptions {
  since?: string;
  until?: string;
  principal?: string;
  action?: string;
  examples?: string;
}

const POLL_MS = 500;

/**
 * `stepgate replay <version|dir>`: replays the logged decisions of a window with a version on
 * the control plane, or with a policy folder compiled here (as `stepgate test` compiles it;
 * the set is replayed only, never pushed), waits for the report and prints it. Exits 0 when
 * nothing changes, 1 when something does, 2 on any error (usage, a folder that does not
 * compile, refusal, a failed or cancelled replay).
 */
export async function replayCommand(
  ref: string,
  options: ReplayOptions,
  io: AdminIo = processIo(),
  pollMs = POLL_MS,
): Promise<number> {
  let token: string | undefined;
  const redact = (text: string): string =>
    token === undefined || token.length < 8 ? text : text.split(token).join('<token>');
  try {
    const request = replayRequest(options, new Date());
    const dir = await isDirectory(ref);
    let policySet: unknown;
    if (dir) {
      const compiled = await compileDir(ref, io);
      if (compiled === undefined) return EXIT_ERROR;
      policySet = compiled;
    }
    const version = dir ? ref : parseVersionRef(ref);
    const connection = resolveConnection(options, io.env);
    token = connection.token;
    const client = new ControlPlaneClient(connection, { fetch: io.fetch, timeoutMs: io.timeoutMs });
    const started = dir
      ? await client.startLocalReplay(policySet, request)
      : await client.startReplay(version, request);
    const progress =
      io.stderr === process.stderr ? createProgress(process.stderr, 'replaying') : undefined;
    let replay = await client.getReplay(started.id);
    while (replay.status === 'queued' || replay.status === 'running') {
      progress?.update(replay.progress.read, Math.max(replay.progress.estimatedTotal, 1));
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      replay = await client.getReplay(started.id);
    }
    progress?.clear();
    if (replay.status !== 'done' || replay.result === null) {
      io.stderr.write(
        `error: replay ${replay.id} ${replay.status}${replay.error ? `: ${redact(printable(replay.error))}` : ''}\n`,
      );
      return EXIT_ERROR;
    }
    io.stdout.write(
      options.json ? `${JSON.stringify(replay, null, 2)}\n` : `${formatReplay(replay)}\n`,
    );
    return replay.result.totals.changed > 0 ? EXIT_CHANGES : EXIT_NO_CHANGE;
  } catch (error) {
    const exit = reportFailure('replay', error, io, redact, EXIT_ERROR);
    if (exit === undefined) throw error;
    return exit;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Compiles a policy folder as `stepgate test` does; undefined (errors printed) when it fails. */
async function compileDir(dir: string, io: AdminIo): Promise<unknown> {
  const style = createStyle(false);
  let files;
  try {
    files = await readPolicyDir(dir);
  } catch (error) {
    if (!(error instanceof PolicyDirError)) throw error;
    io.stderr.write(`error: ${error.message}\n`);
    return undefined;
  }
  const result = compile(files);
  if (!result.ok) {
    io.stderr.write(
      `error: ${dir} does not compile\n${formatCompileErrors(result.errors, style)}\n`,
    );
    return undefined;
  }
  return result.policySet;
}

/** The request body from the options: `--since 24h` (a duration back from now) or a time. */
export function replayRequest(options: ReplayOptions, now: Date): ReplayRequest {
  const since = timeOption('--since', options.since ?? '24h', now);
  const until = options.until === undefined ? undefined : timeOption('--until', options.until, now);
  if (until !== undefined && since >= until)
    throw new UsageError(`--since (${since}) must be before --until (${until})`);
  const request: ReplayRequest = { since };
  if (until !== undefined) request.until = until;
  const filter: NonNullable<ReplayRequest['filter']> = {};
  if (options.principal !== undefined) filter.principal = options.principal;
  if (options.action !== undefined) filter.action = options.action;
  if (Object.keys(filter).length > 0) request.filter = filter;
  if (options.examples !== undefined) {
    const examples = Number(options.examples);
    if (!Number.isInteger(examples) || examples < 0 || examples > 50)
      throw new UsageError(
        `--examples must be a whole number from 0 to 50, not '${options.examples}'`,
      );
    request.examples = examples;
  }
  return request;
}

function timeOption(name: string, value: string, now: Date): string {
  const seconds = parseDuration(value);
  if (seconds !== undefined && seconds > 0)
    return new Date(now.getTime() - seconds * 1000).toISOString();
  const time = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(time)) return new Date(time).toISOString();
  throw new UsageError(
    `${name} takes a duration back from now (24h, 90m, 7d) or an ISO time (2026-12-01T09:00:00Z), not '${value}'`,
  );
}

/** The report for people: totals, then a table per grouping, then examples of each change. */
export function formatReplay(replay: Replay): string {
  const result = replay.result as ReplayResult;
  const { totals } = result;
  const lines = [
    `Replay of ${replay.version === null ? 'local policies' : `version ${replay.version.number} (${replay.version.sha.slice(0, 7)})`}, ${formatUtc(replay.since)} to ${formatUtc(replay.until)}`,
    `${totals.records} records: ${totals.replayed} replayed, ${totals.changed} changed, ${totals.notReplayable} not replayable`,
  ];
  const section = (title: string, header: string, rows: { key: string; count: number }[]) => {
    if (rows.length === 0) return;
    lines.push(
      '',
      title,
      formatTable(
        [
          { header, value: (row: { key: string }) => row.key, maxWidth: 60 },
          { header: 'COUNT', value: (row: { count: number }) => String(row.count), align: 'right' },
        ],
        rows,
      ),
    );
  };
  if (totals.changed === 0) lines.push('', 'No decision changes.');
  section(
    'Changes',
    'CHANGE',
    result.changes.map((g) => ({ key: g.change, count: g.count })),
  );
  section(
    'By rule',
    'RULE',
    result.byRule.map((g) => ({ key: `${g.policy}/${g.rule}`, count: g.count })),
  );
  section(
    'By principal',
    'PRINCIPAL',
    result.byPrincipal.map((g) => ({ key: g.principal, count: g.count })),
  );
  section(
    'By action',
    'ACTION',
    result.byAction.map((g) => ({ key: g.action, count: g.count })),
  );
  section(
    'Not replayable',
    'REASON',
    result.notReplayable.map((g) => ({ key: g.reason, count: g.count })),
  );
  const examples = result.changes.flatMap((g) =>
    g.examples.map((e) => ({ ...e, change: g.change })),
  );
  if (examples.length > 0) {
    lines.push(
      '',
      'Examples',
      formatTable(
        [
          { header: 'CHANGE', value: (e: (typeof examples)[number]) => e.change },
          { header: 'PRINCIPAL', value: (e) => e.principal, maxWidth: 32 },
          { header: 'ACTION', value: (e) => e.action, maxWidth: 32 },
          { header: 'RESOURCE', value: (e) => `${e.resource.kind}/${e.resource.id}`, maxWidth: 40 },
          {
            header: 'NOW',
            value: (e) =>
              (e.after?.reasons ?? []).map((r) => `${r.policy}/${r.rule}`).join(', ') +
              (e.after?.require ? ` (${requirement(e.after.require)})` : ''),
            maxWidth: 60,
          },
          { header: 'DECISION', value: (e) => e.decisionId },
        ],
        examples,
      ),
    );
  }
  if (result.truncated) lines.push('', '(some groups left out; see --json)');
  return lines.join('\n');
}

function requirement(require: { level?: string; maxAge?: number; approvals?: number }): string {
  const parts: string[] = [];
  if (require.level !== undefined) parts.push(`level ${require.level}`);
  if (require.maxAge !== undefined) parts.push(`within ${require.maxAge}s`);
  if (require.approvals !== undefined) parts.push(`${require.approvals} approvals`);
  return parts.join(', ');
}

export function registerReplayCommand(program: Command): void {
  addAdminOptions(
    program
      .command('replay')
      .description(
        'replay logged decisions with a version or a local policy folder and show what would change (exit 0: no change, 1: changes, 2: error)',
      )
      .argument(
        '<version|dir>',
        'a version number, id, or commit sha prefix (7+ characters); or a policy folder, compiled here and replayed without being pushed',
      )
      .option(
        '--since <when>',
        'start of the window: a duration back from now or an ISO time',
        '24h',
      )
      .option('--until <when>', 'end of the window (default: now)')
      .option('--principal <id>', 'only decisions of this principal')
      .option('--action <name>', 'only decisions of this action')
      .option('--examples <n>', 'examples per group (default 5)'),
  ).action(async (ref: string, options: ReplayOptions) => {
    process.exitCode = await replayCommand(ref, options);
  });
}
