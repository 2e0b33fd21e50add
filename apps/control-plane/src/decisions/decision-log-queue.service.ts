import { InjectQueue } from '@nestjs/bullmq';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { redisClientOf } from '../common/queue-client.js';
import { DecisionMetrics } from './decision.metrics.js';
import { INGEST_ATTEMPTS, INGEST_BACKOFF } from './ingest-retry.js';
import {
  DECISION_LOGS_QUEUE,
  RETENTION_SCHEDULER_ID,
  decisionLogJobId,
  type DecisionLogJobName,
  type DecisionLogJobs,
} from './decision-logs.queue.js';

/** How long an agent waits for its batch ack before the gateway answers "not queued". */
const ENQUEUE_TIMEOUT_MS = 5000;
/** A scrape of /metrics does not wait longer than this for the queue counts. */
const COUNTS_TIMEOUT_MS = 1000;

/** Retention runs every hour, or more often when the retention itself is short. */
export function pruneIntervalMs(retentionSeconds: number): number {
  return Math.max(1000, Math.min(3600_000, Math.floor((retentionSeconds * 1000) / 10)));
}

export class EnqueueTimeoutError extends Error {}

/**
 * Puts decision-log batches on the queue, and keeps the retention schedule in place (Redis here
 * may keep nothing across a restart, so the schedule is re-created whenever it is back).
 */
@Injectable()
export class DecisionLogQueueService implements OnApplicationBootstrap, OnModuleDestroy {
  private detach?: () => void;

  constructor(
    @InjectQueue(DECISION_LOGS_QUEUE)
    private readonly queue: Queue<DecisionLogJobs[DecisionLogJobName], unknown, string>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: DecisionMetrics,
  ) {
    this.queue.on('error', redisErrorLogger(logger, 'decision-log queue'));
    metrics.queueSource = () => this.counts();
  }

  /** Jobs by state, or undefined when Redis does not answer promptly. */
  private async counts(): Promise<Record<string, number> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), COUNTS_TIMEOUT_MS);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once the batch is in Redis (or was already: the job id is deterministic); rejects
   * when Redis does not take it within a few seconds, so the agent keeps the batch and re-sends.
   */
  async enqueue(batch: DecisionLogJobs['ingest']): Promise<string> {
    const jobId = decisionLogJobId(batch.agentId, batch.batchId);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add('ingest', batch, {
          jobId,
          // An outage of PostgreSQL spends no attempt (DecisionLogWriterService holds the
          // write); these are for anything else, min(base * 2^n, 30 * base) apart.
          attempts: INGEST_ATTEMPTS,
          backoff: { type: INGEST_BACKOFF, delay: this.config.ingestRetryBaseMs },
          // Kept a little while so a re-sent batch is recognised without touching the database;
          // past that, decision ids still de-duplicate the rows.
          removeOnComplete: { age: 600, count: 200 },
          removeOnFail: { age: 7 * 86_400 },
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new EnqueueTimeoutError('the log queue (Redis) did not answer in time')),
            ENQUEUE_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return jobId;
  }

  async onApplicationBootstrap(): Promise<void> {
    const client = await redisClientOf(this.queue);
    const onReady = () => void this.scheduleRetention('redis-ready');
    client.on('ready', onReady);
    this.detach = () => client.off('ready', onReady);
    await this.scheduleRetention('startup');
  }

  onModuleDestroy(): void {
    this.detach?.();
  }

  private async scheduleRetention(why: string): Promise<void> {
    try {
      await this.queue.upsertJobScheduler(
        RETENTION_SCHEDULER_ID,
        { every: pruneIntervalMs(this.config.decisionRetentionSeconds) },
        { name: 'prune', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    } catch (error) {
      this.logger.warn(
        { why, error: (error as Error).message },
        'could not schedule decision-log retention yet; will retry when Redis is back',
      );
    }
  }
}
