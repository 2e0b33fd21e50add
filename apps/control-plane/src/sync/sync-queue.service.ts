import { StepgateError } from '@stepgate/protocol';
import { InjectQueue } from '@nestjs/bullmq';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { SourcesService } from '../sources/sources.service.js';
import { redisClientOf } from '../common/queue-client.js';
import { SYNC_QUEUE, syncJobId, type SyncJobs } from './sync.queue.js';
import { SyncRepository } from './sync.repository.js';

const ENQUEUE_TIMEOUT_MS = 2000;
const RETRY = { attempts: 6, backoff: { type: 'exponential' as const, delay: 1000 } };

/**
 * Puts syncs on the queue: on demand (push, webhook, API) and by polling. Redis here may keep
 * nothing across a restart, so whenever the connection becomes ready again the poll schedules
 * are re-created and every source is synced once: nothing pushed while Redis was away is lost.
 */
@Injectable()
export class SyncQueueService implements OnApplicationBootstrap, OnModuleDestroy {
  private detach?: () => void;

  constructor(
    @InjectQueue(SYNC_QUEUE) private readonly queue: Queue<SyncJobs['sync'], unknown, string>,
    private readonly repository: SyncRepository,
    private readonly sources: SourcesService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.queue.on('error', redisErrorLogger(logger, 'sync queue'));
  }

  async enqueue(data: SyncJobs['sync']): Promise<string> {
    const jobId = syncJobId(data);
    const added = this.queue.add('sync', data, {
      jobId,
      ...RETRY,
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600 },
    });
    // While Redis is away the client holds commands; callers get a prompt 503 instead.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StepgateError(
              'service/unavailable',
              'the job queue (Redis) is unavailable; the sync will run when it is back',
            ),
          ),
        ENQUEUE_TIMEOUT_MS,
      );
    });
    added.catch(() => undefined);
    try {
      await Promise.race([added, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return jobId;
  }

  /** An operator's sync of `sourceId` (404 if unknown): queued with them as its pusher, audited. */
  async requestSync(sourceId: string, actor: string): Promise<string> {
    await this.sources.get(sourceId);
    const jobId = await this.enqueue({ sourceId, trigger: 'manual', pushedBy: actor });
    await this.audit.record({ actor, action: 'source.sync', target: sourceId, details: { jobId } });
    return jobId;
  }

  async onApplicationBootstrap(): Promise<void> {
    const client = await redisClientOf(this.queue);
    const onReady = () => void this.resume('redis-ready');
    client.on('ready', onReady);
    this.detach = () => client.off('ready', onReady);
    await this.resume('startup');
  }

  onModuleDestroy(): void {
    this.detach?.();
  }

  private async resume(why: string): Promise<void> {
    try {
      const sources = await this.repository.pollSources();
      for (const source of sources) {
        const every = (source.pollIntervalSeconds ?? this.config.pollIntervalSeconds) * 1000;
        await this.queue.upsertJobScheduler(
          `poll.${source.id}`,
          { every },
          { name: 'sync', data: { sourceId: source.id, trigger: 'poll' }, opts: RETRY },
        );
        await this.enqueue({ sourceId: source.id, trigger: 'startup' });
      }
      this.logger.info({ sources: sources.length, why }, 'sync schedules in place');
    } catch (error) {
      this.logger.warn(
        { why, error: (error as Error).message },
        'could not schedule syncs yet; will retry when Redis is back',
      );
    }
  }
}
