import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import {
  pusherOf,
  SYNC_JOB_NAMES,
  SYNC_QUEUE,
  type SyncJobName,
  type SyncJobs,
} from './sync.queue.js';
import { SyncService } from './sync.service.js';

/**
 * Runs sync jobs one at a time (concurrency 1), so two syncs of a source never race on
 * its last-synced commit. Failures are retried with backoff by the queue.
 */
@Processor(SYNC_QUEUE, { concurrency: 1 })
export class SyncProcessor extends WorkerHost implements OnModuleInit {
  private readonly handlers: { [K in SyncJobName]: (data: SyncJobs[K]) => Promise<unknown> } = {
    sync: (data) => this.syncService.sync(data.sourceId, pusherOf(data)),
  };

  private readonly redisError: (error: Error) => void;

  constructor(
    private readonly syncService: SyncService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
    this.redisError = redisErrorLogger(logger, 'sync worker');
  }

  /** Without a listener BullMQ prints each failed reconnect as a raw stack trace. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.redisError(error);
  }

  /** Start-up check: a job name without a handler would sit in the queue forever. */
  onModuleInit(): void {
    const missing = SYNC_JOB_NAMES.filter((name) => typeof this.handlers[name] !== 'function');
    if (missing.length > 0) throw new Error(`no handler for sync job(s): ${missing.join(', ')}`);
  }

  async process(job: Job<SyncJobs[SyncJobName], unknown, SyncJobName>): Promise<unknown> {
    const handler = this.handlers[job.name];
    if (!handler) throw new Error(`unknown job ${job.name}`);
    try {
      return await handler(job.data);
    } catch (error) {
      this.logger.warn(
        { jobId: job.id, attempt: job.attemptsMade + 1, error: (error as Error).message },
        'sync failed',
      );
      throw error;
    }
  }
}
