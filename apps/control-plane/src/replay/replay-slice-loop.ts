import type { LiveData } from '@stepgate/policy';
import type { ReplayExample } from '@stepgate/protocol';
import { LiveDataAt } from './live-data-at.js';
import type { LogCursor } from './replay-page-query.js';
import { changeOf, rulesOfChange, type Verdict } from './replay-diff.js';
import type { ReplayEvaluator, ReplayRow } from './replay-evaluator.js';
import type { ReplayTally } from './replay-tally.js';

/** Where a slice's records, agents' labels and live documents come from. */
export interface SliceSource {
  /** Up to `limit` records of the slice after `cursor` (null: its start), oldest first. */
  page(cursor: LogCursor | null, limit: number): Promise<ReplayRow[]>;
  labels(agentIds: string[]): Promise<Map<string, Readonly<Record<string, string>>>>;
  documentsAt(revision: number): Promise<Record<string, unknown>>;
}

/**
 * Decides the records of one slice (the whole window in process, or a worker thread's part)
 * page by page after an (at, id) cursor and tallies what changed. After every page but the
 * last, `pageDone(read)` says whether to go on; it returns false when the replay was
 * cancelled, and so does this function (true: the slice was read to its end).
 */
export async function replaySlice(
  evaluator: ReplayEvaluator,
  tally: ReplayTally,
  source: SliceSource,
  pageSize: number,
  pageDone: (read: number) => Promise<boolean>,
): Promise<boolean> {
  const live = new LiveDataAt((revision) => source.documentsAt(revision));
  const labels = new Map<string, Readonly<Record<string, string>>>();
  let next = prefetch(source, null, pageSize);
  for (;;) {
    const page = await next;
    const last = page[page.length - 1];
    const more = last !== undefined && page.length === pageSize;
    // The next page is read while this one is decided (PostgreSQL works on another core);
    // at most two pages are held at a time.
    if (more) next = prefetch(source, { at: last.at, id: last.id }, pageSize);
    const unknown = [...new Set(page.map((row) => row.agentId))].filter((id) => !labels.has(id));
    const found = unknown.length === 0 ? new Map() : await source.labels(unknown);
    // An agent since deleted has no labels: asked once, not on every page.
    for (const id of unknown) labels.set(id, found.get(id) ?? NO_LABELS);
    // The page's data revisions first, so the records are decided without waiting.
    const revisions = new Map<number, LiveData>();
    for (const row of page)
      if (row.dataRevision !== null && !revisions.has(row.dataRevision)) {
        const documents = await live.at(row.dataRevision);
        if (documents !== undefined) revisions.set(row.dataRevision, documents);
      }
    for (const row of page) {
      const documents = row.dataRevision === null ? undefined : revisions.get(row.dataRevision);
      replayOne(evaluator, tally, row, labels.get(row.agentId) ?? NO_LABELS, documents);
    }
    if (!more) return true;
    if (!(await pageDone(tally.read))) return false;
  }
}

/**
 * Starts reading a page. A page read ahead and then not awaited (the replay was cancelled or
 * failed) must not become an unhandled rejection: the returned promise still rejects.
 */
function prefetch(
  source: SliceSource,
  cursor: LogCursor | null,
  pageSize: number,
): Promise<ReplayRow[]> {
  const page = source.page(cursor, pageSize);
  page.catch(() => undefined);
  return page;
}

function replayOne(
  evaluator: ReplayEvaluator,
  tally: ReplayTally,
  row: ReplayRow,
  labels: Readonly<Record<string, string>>,
  live: LiveData | undefined,
): void {
  const outcome = evaluator.evaluate(row, labels, live);
  if (!outcome.replayed) {
    const example = exampleOf(row);
    if (outcome.masked !== undefined) example.masked = outcome.masked;
    tally.notReplayed(outcome.reason, example);
    return;
  }
  const { decision } = outcome;
  const before: Verdict = { effect: row.effect, require: row.require };
  const after: Verdict = { effect: decision.effect, require: decision.require ?? null };
  const change = changeOf(before, after, evaluator.levels);
  if (change === null) {
    tally.unchanged();
    return;
  }
  const reasons = decision.reasons.map(({ policy, rule, effect }) => ({ policy, rule, effect }));
  const example = exampleOf(row);
  example.after = { ...after, reasons };
  tally.change(
    change,
    rulesOfChange(
      { effect: row.effect, reasons: row.reasons },
      { effect: decision.effect, reasons },
    ),
    example,
  );
}

/** Labels of an agent the control plane no longer knows: one object, so one engine. */
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A record as a report example, built only for a record the report may keep (changed or not
 * replayable): most records change nothing, and one built for each cost some 4 % of a replay.
 */
function exampleOf(row: ReplayRow): ReplayExample {
  return {
    decisionId: row.id,
    at: row.at.toISOString(),
    principal: row.principal,
    action: row.action,
    resource: { kind: row.resourceKind, id: row.resourceId },
    before: { effect: row.effect, require: row.require },
    after: null,
  };
}
