import { InjectQueue } from '@nestjs/bullmq';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { redisClientOf } from '../common/queue-client.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LiveDataService } from '../live-data/live-data.service.js';
import { LiveStateEvents } from '../live-state/live-state.events.js';
import { LOGGER } from '../logging/logger.js';
import {
  DATA_SOURCE_QUEUE,
  SCHEDULER_PREFIX,
  schedulerId,
  type DataSourceJobs,
} from './data-source.queue.js';

/**
 * Keeps one BullMQ job scheduler per data source of the active version, so that however many
 * replicas run, each interval gives one poll job, run by one of them. Reconciled at start, when
 * Redis comes back (it may have kept nothing), and when this replica activates or rolls back a
 * version; a scheduler whose source is gone is removed (and a poll that finds its source gone
 * removes it too, which covers activations another replica made).
 */
@Injectable()
export class DataSourceSchedulerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly detach: (() => void)[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    @InjectQueue(DATA_SOURCE_QUEUE)
    private readonly queue: Queue<DataSourceJobs['poll'], unknown, string>,
    private readonly liveData: LiveDataService,
    private readonly liveState: LiveStateEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.queue.on('error', redisErrorLogger(logger, 'data source queue'));
  }

  async onApplicationBootstrap(): Promise<void> {
    const client = await redisClientOf(this.queue);
    const onReady = () => void this.reconcile('redis-ready');
    client.on('ready', onReady);
    this.detach.push(() => client.off('ready', onReady));
    this.detach.push(
      this.liveState.onChange((change) => {
        if (change.kind === 'activate' || change.kind === 'rollback')
          void this.reconcile(`version ${change.kind}`);
      }),
    );
    await this.reconcile('startup');
  }

  onModuleDestroy(): void {
    for (const detach of this.detach) detach();
  }

  /** Stops polling `name` (its source is gone from the active version). */
  async remove(name: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerId(name));
  }

  /** Runs one reconciliation after another, never two at once. */
  reconcile(why: string): Promise<void> {
    this.running = this.running.then(() => this.reconcileNow(why));
    return this.running;
  }

  private async reconcileNow(why: string): Promise<void> {
    try {
      const sources = await this.liveData.dataSources();
      const wanted = new Map(sources.map((source) => [schedulerId(source.name), source]));
      const existing = await this.queue.getJobSchedulers(0, -1);
      for (const scheduler of existing) {
        const id = scheduler.key;
        if (id.startsWith(SCHEDULER_PREFIX) && !wanted.has(id)) {
          await this.queue.removeJobScheduler(id);
          this.logger.info({ scheduler: id, why }, 'data source polling stopped');
        }
      }
      for (const [id, source] of wanted) {
        const every = Math.round(source.every * 1000);
        const current = existing.find((scheduler) => scheduler.key === id);
        // Upserting an unchanged scheduler would add an extra poll now: leave it be.
        if (current !== undefined && Number(current.every) === every) continue;
        await this.queue.upsertJobScheduler(
          id,
          { every },
          {
            name: 'poll',
            data: { name: source.name },
            opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
          },
        );
        this.logger.info({ scheduler: id, everyMs: every, why }, 'data source polling scheduled');
      }
    } catch (error) {
      this.logger.warn(
        { why, error: (error as Error).message },
        'could not reconcile data source polling yet; will retry when Redis is back or a version is activated',
      );
    }
  }
}
