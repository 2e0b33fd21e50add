import { Inject, Injectable } from '@nestjs/common';
import { parsePolicySet, type CompiledPolicySet, type LiveData } from '@stepgate/policy';
import type { ReplayExample, ReplayFilter } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { LiveDataRepository } from '../live-data/live-data.repository.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { LiveDataAt } from './live-data-at.js';
import { changeOf, rulesOfChange, type Verdict } from './replay-diff.js';
import { ReplayEvaluator, type ReplayRow } from './replay-evaluator.js';
import { ReplayRecordsRepository, type LogCursor } from './replay-records.repository.js';
import { ReplayTally } from './replay-tally.js';
import { ReplayRepository, type ReplayRecord } from './replay.repository.js';

/** Records per page: one page (and the next, being read) is all a replay holds of the log. */
export const REPLAY_PAGE = 1000;

/**
 * Runs one replay (the job's body): streams the window's records page by page after an
 * (at, id) cursor, decides each again with the candidate and tallies what changed. Progress
 * is written after every page; its answer, read after the next page, is where a cancellation
 * is noticed (so a cancelled replay stops within two pages).
 */
@Injectable()
export class ReplayRunnerService {
  constructor(
    private readonly replays: ReplayRepository,
    private readonly records: ReplayRecordsRepository,
    private readonly versions: VersionsRepository,
    private readonly liveData: LiveDataRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async run(replayId: string, pageSize = REPLAY_PAGE): Promise<void> {
    const replay = await this.replays.get(replayId);
    if (replay === null || (replay.status !== 'queued' && replay.status !== 'running')) return;
    const window = {
      since: replay.since,
      until: replay.until,
      filter: replay.filter as ReplayFilter,
    };
    const tally = new ReplayTally(replay.examples);
    try {
      const policySet = await this.policySetOf(replay);
      if (!(await this.replays.start(replayId, await this.records.count(window)))) return;
      const evaluator = new ReplayEvaluator(policySet);
      const live = new LiveDataAt((revision) => this.liveData.documentsAt(revision));
      const labels = new Map<string, Readonly<Record<string, string>>>();
      let next = this.prefetch(window, null, pageSize);
      let progress: Promise<boolean> | undefined;
      for (;;) {
        const page = await next;
        const last = page[page.length - 1];
        const more = last !== undefined && page.length === pageSize;
        // The next page is read while this one is decided (PostgreSQL works on another core);
        // at most two pages are held at a time.
        if (more) next = this.prefetch(window, { at: last.at, id: last.id }, pageSize);
        const unknown = [...new Set(page.map((row) => row.agentId))].filter(
          (id) => !labels.has(id),
        );
        const found = await this.records.labels(unknown);
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
          this.replayOne(evaluator, tally, row, labels.get(row.agentId) ?? NO_LABELS, documents);
        }
        if (!more) break;
        // The previous page's progress write answers whether the replay is still running; this
        // page's is written while the next one is decided, not waited for in between.
        if (progress !== undefined && !(await progress)) {
          await this.replays.keepPartial(replayId, tally.read, tally.result());
          this.logger.info({ replayId, read: tally.read }, 'replay cancelled');
          return;
        }
        progress = this.replays.progress(replayId, tally.read);
        progress.catch(() => undefined);
      }
      await progress;
      if (!(await this.replays.finish(replayId, 'done', tally.read, tally.result(), null)))
        await this.replays.keepPartial(replayId, tally.read, tally.result());
      this.logger.info({ replayId, ...tally.result().totals }, 'replay done');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ replayId, error: message }, 'replay failed');
      await this.replays.finish(replayId, 'failed', tally.read, null, message);
    }
  }

  /**
   * Starts reading a page. A page read ahead and then not awaited (the replay was cancelled or
   * failed) must not become an unhandled rejection: the returned promise still rejects.
   */
  private prefetch(
    window: Parameters<ReplayRecordsRepository['page']>[0],
    cursor: LogCursor | null,
    pageSize: number,
  ): Promise<ReplayRow[]> {
    const page = this.records.page(window, cursor, pageSize);
    page.catch(() => undefined);
    return page;
  }

  /** The version's stored set, or the caller's (a local replay keeps it with its row). */
  private async policySetOf(replay: ReplayRecord): Promise<CompiledPolicySet> {
    if (replay.versionId === null) {
      if (replay.policySet === null) throw new Error('the replay has no policy set');
      return parsePolicySet(replay.policySet);
    }
    const version = await this.versions.byId(replay.versionId);
    if (version?.policySet == null)
      throw new Error(`version ${replay.versionNumber} has no policy set`);
    return version.policySet as unknown as CompiledPolicySet;
  }

  private replayOne(
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
