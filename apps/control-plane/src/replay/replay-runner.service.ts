import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { parsePolicySet, type CompiledPolicySet } from '@stepgate/policy';
import type { ReplayFilter } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LiveDataRepository } from '../live-data/live-data.repository.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { ReplayEvaluator } from './replay-evaluator.js';
import { ReplayRecordsRepository, type ReplayWindow } from './replay-records.repository.js';
import { replaySlice } from './replay-slice-loop.js';
import { sliceCount, sliceEnds, slicesBetween } from './replay-slice-plan.js';
import { ReplayTally } from './replay-tally.js';
import { replayInWorkers, ReplayWorkerPool } from './replay-workers.js';
import { ReplayRepository, type ReplayRecord } from './replay.repository.js';

/** Records per page: one page (and the next, being read) is all a replay holds of the log. */
export const REPLAY_PAGE = 1000;

/** One replay's settings, and where the records read so far are reported. */
interface Run {
  replayId: string;
  examples: number;
  policySet: CompiledPolicySet;
  window: ReplayWindow;
  pageSize: number;
  onRead: (read: number) => void;
}

/** How a replay ended: read to its end, or cancelled with a partial tally. */
interface Pass {
  tally: ReplayTally;
  cancelled: boolean;
}

/**
 * Runs one replay (the job's body): streams the window's records page by page after an
 * (at, id) cursor, decides each again with the candidate and tallies what changed. A window of
 * at least `replay.minRecords` records is split into `replay.workers` time slices of about
 * equal counts, each read and decided by its own worker thread with its own connection
 * (replay-workers.ts; the threads are kept idle for the next replay a while), their tallies
 * merged in time order into the report one pass would give; a smaller one is replayed here, in
 * process. Progress is written after every page; its answer
 * is where a cancellation is noticed (so a cancelled replay stops within two pages).
 */
@Injectable()
export class ReplayRunnerService implements OnModuleDestroy {
  private readonly pool = new ReplayWorkerPool();

  constructor(
    private readonly replays: ReplayRepository,
    private readonly records: ReplayRecordsRepository,
    private readonly versions: VersionsRepository,
    private readonly liveData: LiveDataRepository,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'databaseUrl' | 'replay'>,
  ) {}

  /** Shutdown: the idle replay workers end (a running replay's end with the process). */
  onModuleDestroy(): void {
    this.pool.close();
  }

  async run(replayId: string, pageSize = REPLAY_PAGE): Promise<void> {
    const replay = await this.replays.get(replayId);
    if (replay === null || (replay.status !== 'queued' && replay.status !== 'running')) return;
    const window: ReplayWindow = {
      since: replay.since,
      until: replay.until,
      filter: replay.filter as ReplayFilter,
    };
    let read = 0;
    try {
      const policySet = await this.policySetOf(replay);
      const total = await this.records.count(window);
      if (!(await this.replays.start(replayId, total))) return;
      const { workers, minRecords } = this.config.replay;
      const slices = sliceCount(total, workers, minRecords);
      const run: Run = {
        replayId,
        examples: replay.examples,
        policySet,
        window,
        pageSize,
        onRead: (n) => (read = n),
      };
      const pass =
        slices === 1 ? await this.inProcess(run) : await this.inWorkers(run, total, slices);
      const { tally } = pass;
      read = tally.read;
      if (pass.cancelled) {
        await this.replays.keepPartial(replayId, tally.read, tally.result());
        this.logger.info({ replayId, read: tally.read }, 'replay cancelled');
        return;
      }
      if (!(await this.replays.finish(replayId, 'done', tally.read, tally.result(), null)))
        await this.replays.keepPartial(replayId, tally.read, tally.result());
      this.logger.info({ replayId, slices, ...tally.result().totals }, 'replay done');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ replayId, error: message }, 'replay failed');
      await this.replays.finish(replayId, 'failed', read, null, message);
    }
  }

  /** The whole window on this thread (a small window: no worker start-up to pay). */
  private async inProcess(run: Run): Promise<Pass> {
    const { replayId, examples, policySet, window, pageSize, onRead } = run;
    const tally = new ReplayTally(examples);
    let progress: Promise<boolean> | undefined;
    const finished = await replaySlice(
      new ReplayEvaluator(policySet),
      tally,
      {
        page: (cursor, limit) => this.records.page(window, cursor, limit),
        labels: (agentIds) => this.records.labels(agentIds),
        documentsAt: (revision) => this.liveData.documentsAt(revision),
      },
      pageSize,
      async (read) => {
        onRead(read);
        // The previous page's progress write answers whether the replay is still running; this
        // page's is written while the next one is decided, not waited for in between.
        if (progress !== undefined && !(await progress)) return false;
        progress = this.replays.progress(replayId, read);
        progress.catch(() => undefined);
        return true;
      },
    );
    if (finished) await progress;
    return { tally, cancelled: !finished };
  }

  /**
   * The window in `slices` slices of about equal record counts, bounded on (at, id), one worker
   * thread each; their tallies merged in time order, so the examples kept are the first ones.
   */
  private async inWorkers(run: Run, total: number, slices: number): Promise<Pass> {
    const { replayId, examples, policySet, window, pageSize, onRead } = run;
    const ends = await this.records.positions(window, sliceEnds(total, slices));
    const outcome = await replayInWorkers(
      { databaseUrl: this.config.databaseUrl, policySet, window, examples, pageSize },
      slicesBetween(ends),
      {
        labels: (agentIds) => this.records.labels(agentIds),
        documentsAt: (revision) => this.liveData.documentsAt(revision),
        progress: (read) => {
          onRead(read);
          return this.replays.progress(replayId, read);
        },
      },
      this.pool,
    );
    const tally = new ReplayTally(examples);
    for (const state of outcome.states) tally.merge(state);
    return { tally, cancelled: outcome.cancelled };
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
}
