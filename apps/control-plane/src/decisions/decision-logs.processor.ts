import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { DecisionIngestService } from './decision-ingest.service.js';
import { DecisionLogWriterService } from './decision-log-writer.service.js';
import { ingestBackoff } from './ingest-retry.js';
import {
  DECISION_LOG_JOB_NAMES,
  DECISION_LOGS_QUEUE,
  type DecisionLogJobName,
  type DecisionLogJobs,
} from './decision-logs.queue.js';

/**
 * Writes decision-log batches and runs the retention job. Many jobs are active at once so that
 * their batches share one INSERT and one commit (DecisionLogWriterService): the fixed cost per
 * job is then BullMQ's two Redis scripts, not a database round trip. Failed writes are retried
 * with capped backoff by the queue; a PostgreSQL outage holds them instead (no attempt spent).
 */
@Processor(DECISION_LOGS_QUEUE, {
  // Jobs in flight: up to 64 agent batches (<= 64k records, a few tens of MB) per replica.
  concurrency: 64,
  settings: { backoffStrategy: ingestBackoff },
  // Jobs interrupted by a crash are re-run (ingest is idempotent): a control plane restarting
  // a few times during a long outage must not fail acked batches (BullMQ's default is 1).
  maxStalledCount: 10,
})
export class DecisionLogsProcessor extends WorkerHost implements OnModuleInit {
  private readonly handlers: {
    [K in DecisionLogJobName]: (data: DecisionLogJobs[K]) => Promise<unknown>;
  } = {
    ingest: (data) => this.writer.store(data),
    prune: () => this.ingest.prune(this.config.decisionRetentionSeconds),
  };

  private readonly redisError: (error: Error) => void;

  constructor(
    private readonly ingest: DecisionIngestService,
    private readonly writer: DecisionLogWriterService,
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
