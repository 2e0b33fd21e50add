import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { isDatabaseUnavailable } from '../common/database-errors.js';
import { LOGGER } from '../logging/logger.js';
import { DecisionIngestService } from './decision-ingest.service.js';
import type { DecisionLogJobs } from './decision-logs.queue.js';
import { DecisionMetrics } from './decision.metrics.js';
import { InsertCoalescer, type CoalescedItem } from './insert-coalescer.js';
import { retryDelayMs } from './ingest-retry.js';

type Batch = DecisionLogJobs['ingest'];

/**
 * Rows per INSERT at most: large enough that a commit is shared by dozens of agent batches,
 * small enough that one statement's JSON parameter stays a few MB.
 */
const MAX_ROWS_PER_INSERT = 5000;

export class ShuttingDownError extends Error {}

/**
 * Writes the batches of the ingest jobs being processed, many batches per INSERT (each job's
 * promise settles once its rows are committed, so the job, and the agent's acked records in
 * Redis, stay until then).
 *
 * While PostgreSQL is unreachable the write is held and retried with capped backoff, however
 * long the outage: the jobs stay active (their locks renewed by the worker) and spend no
 * attempt, and the worker takes no more jobs than its concurrency, so Redis keeps the rest.
 */
@Injectable()
export class DecisionLogWriterService implements OnModuleDestroy {
  private readonly coalescer = new InsertCoalescer<Batch>(
    (items) => this.write(items),
    MAX_ROWS_PER_INSERT,
  );
  private readonly stopping = new AbortController();
  private downSince: number | undefined;

  constructor(
    private readonly ingest: DecisionIngestService,
    private readonly metrics: DecisionMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.metrics.pendingSource = () => this.coalescer.pendingWeight;
    this.metrics.databaseUp.set(1);
  }

  /** Resolves once the batch's records are stored (or refused as invalid, row by row). */
  store(batch: Batch): Promise<void> {
    return this.coalescer.submit(batch, batch.records.length);
  }

  /** Held writes give up so the worker can close; their jobs are retried by the next worker. */
  onModuleDestroy(): void {
    this.stopping.abort();
  }

  private async write(items: CoalescedItem<Batch>[]): Promise<PromiseSettledResult<void>[]> {
    const batches = items.map(({ item }) => item);
    for (let retry = 1; ; retry++) {
      try {
        await this.ingest.ingestMany(batches);
        this.metrics.inserts.inc();
        this.recovered(batches);
        return batches.map(() => ({ status: 'fulfilled', value: undefined }));
      } catch (error) {
        if (this.stopping.signal.aborted) throw new ShuttingDownError('shutting down');
        if (!(await this.isOutage(error))) break;
        this.down(error, retry);
        try {
          await sleep(retryDelayMs(retry, this.config.ingestRetryBaseMs), undefined, {
            signal: this.stopping.signal,
          });
        } catch {
          throw new ShuttingDownError('shutting down while PostgreSQL was unreachable');
        }
      }
    }
    // The database is there and refused the statement: a bad record, most likely. Batch by
    // batch, so only the jobs at fault are retried, and their bad rows are isolated.
    return Promise.allSettled(batches.map((batch) => this.ingest.ingest(batch).then(() => {})));
  }

  private async isOutage(error: unknown): Promise<boolean> {
    return isDatabaseUnavailable(error) || !(await this.ingest.reachable());
  }

  private down(error: unknown, retry: number): void {
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.metrics.databaseUp.set(0);
      this.logger.warn(
        {
          error: (error as Error).message?.split('\n')[0],
          pendingRecords: this.coalescer.pendingWeight,
        },
        'PostgreSQL unreachable: decision-log writes are held (still queued in Redis) and retried until it is back',
      );
    } else if (retry % 20 === 0) {
      this.logger.warn(
        {
          downSeconds: Math.round((Date.now() - this.downSince) / 1000),
          pendingRecords: this.coalescer.pendingWeight,
        },
        'PostgreSQL still unreachable: decision-log writes held',
      );
    }
  }

  private recovered(batches: Batch[]): void {
    if (this.downSince === undefined) return;
    this.logger.info(
      {
        downSeconds: Math.round((Date.now() - this.downSince) / 1000),
        records: batches.reduce((n, b) => n + b.records.length, 0),
      },
      'PostgreSQL is back: held decision logs stored',
    );
    this.downSince = undefined;
    this.metrics.databaseUp.set(1);
  }
}
