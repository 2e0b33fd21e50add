import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { DecisionIngestService } from './decision-ingest.service.js';
import {
  DECISION_LOG_JOB_NAMES,
  DECISION_LOGS_QUEUE,
  type DecisionLogJobName,
  type DecisionLogJobs,
} from './decision-logs.queue.js';

/**
 * Writes decision-log batches (a few at a time: each is one multi-row INSERT) and runs the
 * retention job. Failed writes are retried with backoff by the queue.
 */
@Processor(DECISION_LOGS_QUEUE, { concurrency: 4 })
export class DecisionLogsProcessor extends WorkerHost implements OnModuleInit {
  private readonly handlers: {
    [K in DecisionLogJobName]: (data: DecisionLogJobs[K]) => Promise<unknown>;
  } = {
    ingest: (data) => this.ingest.ingest(data),
    prune: () => this.ingest.prune(this.config.decisionRetentionSeconds),
  };

  private readonly redisError: (error: Error) => void;

  constructor(
    private readonly ingest: DecisionIngestService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
    this.redisError = redisErrorLogger(logger, 'decision-log worker');
  }

  /** Without a listener BullMQ prints each failed reconnect as a raw stack trace. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.redisError(error);
  }

  /** Start-up check: a job name without a handler would sit in the queue forever. */
  onModuleInit(): void {
    const missing = DECISION_LOG_JOB_NAMES.filter(
      (name) => typeof this.handlers[name] !== 'function',
    );
    if (missing.length > 0)
      throw new Error(`no handler for decision-log job(s): ${missing.join(', ')}`);
  }

  async process(
    job: Job<DecisionLogJobs[DecisionLogJobName], unknown, DecisionLogJobName>,
  ): Promise<unknown> {
    const handler = this.handlers[job.name] as
      ((data: DecisionLogJobs[DecisionLogJobName]) => Promise<unknown>) | undefined;
    if (!handler) throw new Error(`unknown job ${job.name}`);
    try {
      return await handler(job.data);
    } catch (error) {
      this.logger.warn(
        {
          jobId: job.id,
          job: job.name,
          attempt: job.attemptsMade + 1,
          error: (error as Error).message,
        },
        'decision-log job failed',
      );
      throw error;
    }
  }
}
