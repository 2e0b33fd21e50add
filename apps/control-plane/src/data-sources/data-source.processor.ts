import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { DataSourcePollerService } from './data-source-poller.service.js';
import { DataSourceSchedulerService } from './data-source-scheduler.service.js';
import {
  DATA_SOURCE_JOB_NAMES,
  DATA_SOURCE_QUEUE,
  type DataSourceJobName,
  type DataSourceJobs,
} from './data-source.queue.js';

/**
 * Runs poll jobs. A failed fetch is recorded, not thrown: the next interval is the retry, and
 * a BullMQ retry would poll more often than the source asks.
 */
@Processor(DATA_SOURCE_QUEUE, { concurrency: 4 })
export class DataSourceProcessor extends WorkerHost implements OnModuleInit {
  private readonly handlers: {
    [K in DataSourceJobName]: (data: DataSourceJobs[K]) => Promise<unknown>;
  } = {
    poll: async (data) => {
      const outcome = await this.poller.poll(data.name);
      if (outcome === 'removed') await this.scheduler.remove(data.name);
      return outcome;
    },
  };

  private readonly redisError: (error: Error) => void;

  constructor(
    private readonly poller: DataSourcePollerService,
    private readonly scheduler: DataSourceSchedulerService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
    this.redisError = redisErrorLogger(logger, 'data source worker');
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.redisError(error);
  }

  /** Start-up check: a job name without a handler would sit in the queue forever. */
  onModuleInit(): void {
    const missing = DATA_SOURCE_JOB_NAMES.filter(
      (name) => typeof this.handlers[name] !== 'function',
    );
    if (missing.length > 0)
      throw new Error(`no handler for data source job(s): ${missing.join(', ')}`);
  }

  async process(
    job: Job<DataSourceJobs[DataSourceJobName], unknown, DataSourceJobName>,
  ): Promise<unknown> {
    const handler = this.handlers[job.name];
    if (!handler) throw new Error(`unknown job ${job.name}`);
    try {
      return await handler(job.data);
    } catch (error) {
      this.logger.warn(
        { jobId: job.id, dataSource: job.data.name, error: (error as Error).message },
        'data source poll failed',
      );
      throw error;
    }
  }
}
