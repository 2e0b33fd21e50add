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
import { redisClientOf } from '../sync/queue-client.js';
import {
  DECISION_LOGS_QUEUE,
  RETENTION_SCHEDULER_ID,
  decisionLogJobId,
  type DecisionLogJobName,
  type DecisionLogJobs,
} from './decision-logs.queue.js';

/** How long an agent waits for its batch ack before the gateway answers "not queued". */
const ENQUEUE_TIMEOUT_MS = 5000;

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
  ) {
    this.queue.on('error', redisErrorLogger(logger, 'decision-log queue'));
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
          attempts: 8,
          backoff: { type: 'exponential', delay: 1000 },
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
