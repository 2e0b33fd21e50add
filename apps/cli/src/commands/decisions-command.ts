import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DecisionView } from '@stepgate/protocol';
import { EXIT_OK, processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import {
  ControlPlaneUnreachableError,
  type ControlPlaneApi,
  type DecisionsFilter,
} from '../api/control-plane-client.js';
import { runStepUpCommand, systemClock, type Clock } from '../api/step-up-runner.js';
import { addAdminOptions, parseLimit, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty, parseDurationSeconds } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { colourEffect, stdoutStyle } from '../output/colour.js';
import { createStyle, type Style } from '../output/style.js';
import { formatTable, formatUtc, printable, type Column } from '../output/table.js';

const EFFECTS = ['allow', 'deny', 'step_up'] as const;

export interface DecisionsOptions extends AdminOptions {
  from?: string;
  to?: string;
  /** Seconds (commander parses `1h`). */
  since?: number;
  principal?: string;
  action?: string;
  resource?: string;
  resourceKind?: string;
  effect?: (typeof EFFECTS)[number];
  rule?: string;
  agent?: string;
  revision?: number;
  limit?: number;
  cursor?: string;
  follow?: boolean;
}

/** What `--follow` needs besides the admin I/O: a clock and a way to be stopped (SIGINT). */
export interface FollowIo extends AdminIo {
  clock?: Clock;
  /** Aborted to stop following; defaults to one aborted by SIGINT and SIGTERM. */
  stop?: AbortSignal;
}

export const FOLLOW_INTERVAL_MS = 1000;
/** How many ids of printed decisions `--follow` remembers (it reads the newest page each time). */
const SEEN_LIMIT = 10_000;

const INSTANT = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/i;

/** commander parser for `--from` / `--to`: a date or date-time (UTC unless it has an offset). */
export function parseInstant(value: string): string {
  const trimmed = value.trim().replace(' ', 'T');
  const withZone =
    trimmed.length > 10 && !/(Z|[+-]\d\d:?\d\d)$/i.test(trimmed) ? `${trimmed}Z` : trimmed;
  const time = INSTANT.test(trimmed) ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new InvalidArgumentError(
      'expected a date or date-time such as 2026-12-03, 2026-12-03T08:00Z or 2026-12-03T09:00+01:00 (UTC unless an offset is given).',
    );
  }
  return new Date(time).toISOString();
}

function parseRevision(value: string): number {
  if (!/^\d{1,10}$/.test(value.trim()))
    throw new InvalidArgumentError('expected a revision number, e.g. 12.');
  return Number(value.trim());
}

/** The `GET /v1/decisions` query of the flags (`now` for `--since`). */
export function decisionsFilter(options: DecisionsOptions, now: number): DecisionsFilter {
  if (options.since !== undefined && options.from !== undefined) {
    throw new UsageError('give --since or --from, not both');
  }
  const from =
    options.since === undefined ? options.from : new Date(now - options.since * 1000).toISOString();
  const filter: DecisionsFilter = {
    from,
    to: options.to,
    principal: nonEmpty(options.principal),
    action: nonEmpty(options.action),
    resource: nonEmpty(options.resource),
    resourceKind: nonEmpty(options.resourceKind),
    effect: options.effect,
    rule: nonEmpty(options.rule),
    agent: nonEmpty(options.agent),
    revision: options.revision,
    limit: options.limit,
    cursor: nonEmpty(options.cursor),
  };
  return Object.fromEntries(
    Object.entries(filter).filter(([, value]) => value !== undefined),
  ) as DecisionsFilter;
}

/** `stepgate decisions`: decision logs, newest first, filtered; `--follow` streams new ones. */
export async function decisionsCommand(
  options: DecisionsOptions,
  io: FollowIo = processIo(),
): Promise<number> {
  const style = io.env === undefined ? stdoutStyle() : createStyle(false);
  if (options.follow === true) {
    return runStepUpCommand('decisions', options, io, (client) =>
      followDecisions(client, options, io, style),
    );
  }
  return runAdminCommand('decisions', options, io, async (client) => {
    const page = await client.listDecisions(decisionsFilter(options, Date.now()));
    const more =
      page.nextCursor === null ? '' : `\n(older decisions: add --cursor ${page.nextCursor})`;
    return {
      data: page,
      text:
        page.decisions.length === 0
          ? 'No decisions.'
          : `${formatDecisionTable(page.decisions, style)}${more}`,
    };
  });
}

/**
 * Reads the newest page of matching decisions every second and prints the ones not printed yet,
 * oldest first: reading the newest page (not "after the last one seen") also catches decisions
 * an agent shipped late. Text: one line per decision; --json: one JSON object per line.
 */
async function followDecisions(
  client: ControlPlaneApi,
  options: DecisionsOptions,
  io: FollowIo,
  style: Style,
): Promise<number> {
  if (options.cursor !== undefined)
    throw new UsageError('--follow reads the newest decisions; drop --cursor');
  const clock = io.clock ?? systemClock;
  const { signal, release } = stopSignal(io.stop);
  const seen = new Set<string>();
  let warned = false;
  try {
    while (!signal.aborted) {
      let page;
      try {
        page = await client.listDecisions({
          ...decisionsFilter(options, clock.now()),
          limit: options.limit ?? 100,
        });
        warned = false;
      } catch (error) {
        // A restart or a network blip should not end a follow someone left running.
        if (!(error instanceof ControlPlaneUnreachableError)) throw error;
        if (!warned) io.stderr.write(`warning: ${error.message}; still trying\n`);
        warned = true;
      }
      for (const decision of [...(page?.decisions ?? [])].reverse()) {
        if (seen.has(decision.decisionId)) continue;
        seen.add(decision.decisionId);
        io.stdout.write(
          options.json === true
            ? `${JSON.stringify(decision)}\n`
            : `${formatDecisionLine(decision, style)}\n`,
        );
      }
      // Sets iterate in insertion order: forget the oldest ids first.
      for (const id of seen) {
        if (seen.size <= SEEN_LIMIT) break;
        seen.delete(id);
      }
      await sleepUnless(clock, FOLLOW_INTERVAL_MS, signal);
    }
    return EXIT_OK;
  } finally {
    release();
  }
}

function stopSignal(given: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  if (given !== undefined) return { signal: given, release: () => undefined };
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

function sleepUnless(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done);
    void clock.sleep(ms).then(done);
  });
}

const resourceOf = (d: DecisionView): string => `${d.resource.kind}:${d.resource.id}`;
const ruleOf = (d: DecisionView): string => {
  const first = d.reasons[0];
  if (first !== undefined)
    return `${first.policy}/${first.rule}${d.reasons.length > 1 ? ` +${d.reasons.length - 1}` : ''}`;
  return d.failReason === null ? '-' : `fail:${d.failReason}`;
};

export function formatDecisionTable(decisions: readonly DecisionView[], style: Style): string {
  const columns: Column<DecisionView>[] = [
    { header: 'TIME (UTC)', value: (d) => formatUtc(d.at, true) },
    {
      header: 'EFFECT',
      value: (d) => d.effect,
      paint: (cell, d) => cell.replace(d.effect, colourEffect(style, d.effect)),
    },
    { header: 'PRINCIPAL', value: (d) => d.principal, maxWidth: 32 },
    { header: 'ACTION', value: (d) => d.action, maxWidth: 32 },
    { header: 'RESOURCE', value: resourceOf, maxWidth: 48 },
    { header: 'RULE', value: ruleOf, maxWidth: 40 },
    { header: 'AGENT', value: (d) => d.agentId, maxWidth: 32 },
    { header: 'REV', value: (d) => String(d.revision), align: 'right' },
    { header: 'ID', value: (d) => d.decisionId },
  ];
  return formatTable(columns, decisions);
}

/** One decision on one line (for --follow, where a table's widths are not known in advance). */
export function formatDecisionLine(d: DecisionView, style: Style): string {
  const effect = colourEffect(style, d.effect) + ' '.repeat(Math.max(0, 7 - d.effect.length));
  return [
    formatUtc(d.at, true),
    effect,
    printable(d.principal),
    printable(d.action),
    printable(resourceOf(d)),
    printable(ruleOf(d)),
    `agent ${printable(d.agentId)}`,
    `rev ${d.revision}`,
    printable(d.decisionId),
  ].join('  ');
}

export function registerDecisionsCommand(program: Command): void {
  addAdminOptions(
    program
      .command('decisions')
      .description(
        'list decision logs, newest first, with filters; --follow prints new ones as they arrive',
      )
      .option(
        '--from <time>',
        'decided at or after (ISO date-time; UTC unless an offset is given)',
        parseInstant,
      )
      .option('--to <time>', 'decided before (ISO date-time)', parseInstant)
      .option(
        '--since <duration>',
        'decided within this long ago, e.g. 15m, 1h, 2d',
        parseDurationSeconds,
      )
      .option('--principal <id>', 'only this principal (a trailing * matches a prefix)')
      .option('--action <action>', 'only this action (a trailing * matches a prefix)')
      .option('--resource <id>', 'only this resource id (a trailing * matches a prefix)')
      .option('--resource-kind <kind>', 'only this resource kind')
      .addOption(new Option('--effect <effect>', 'only this effect').choices(EFFECTS))
      .option(
        '--rule <policy/rule>',
        'only decisions a rule matched: <policy>/<rule>, or <policy>/*',
      )
      .option('--agent <id>', 'only decisions of this agent')
      .option('--revision <n>', 'only decisions made at this revision', parseRevision)
      .option(
        '--limit <n>',
        'how many (default: 100; with --follow, the page read each second)',
        parseLimit,
      )
      .option(
        '--cursor <cursor>',
        'the next (older) page: the cursor printed under the previous one',
      )
      .option(
        '--follow',
        'keep printing new decisions every second until Ctrl-C (--json: one object per line)',
      ),
  ).action(async (options: DecisionsOptions) => {
    process.exitCode = await decisionsCommand(options);
  });
}
