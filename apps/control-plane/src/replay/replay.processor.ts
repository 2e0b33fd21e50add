import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { ReplayRunnerService } from './replay-runner.service.js';
import {
  REPLAY_JOB_NAMES,
  REPLAY_QUEUE,
  type ReplayJobName,
  type ReplayJobs,
} from './replay.queue.js';

/**
 * Runs replay jobs on whichever replica takes them, one at a time per replica: a replay is
 * CPU-bound (its worker threads keep the cores busy, or the event loop for a small window), so
 * more at once would only slow the API.
 */
@Processor(REPLAY_QUEUE, { concurrency: 1 })
export class ReplayProcessor extends WorkerHost implements OnModuleInit {
  private readonly handlers: { [K in ReplayJobName]: (data: ReplayJobs[K]) => Promise<void> } = {
    replay: (data) => this.runner.run(data.replayId),
  };

  private readonly redisError: (error: Error) => void;

  constructor(
    private readonly runner: ReplayRunnerService,
    @Inject(LOGGER) logger: Logger,
  ) {
    super();
    this.redisError = redisErrorLogger(logger, 'replay worker');
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.redisError(error);
  }

  /** Start-up check: a job name without a handler would sit in the queue forever. */
  onModuleInit(): void {
    const missing = REPLAY_JOB_NAMES.filter((name) => typeof this.handlers[name] !== 'function');
    if (missing.length > 0) throw new Error(`no handler for replay job(s): ${missing.join(', ')}`);
  }

  async process(job: Job<ReplayJobs[ReplayJobName], void, ReplayJobName>): Promise<void> {
    const handler = this.handlers[job.name];
    if (!handler) throw new Error(`unknown job ${job.name}`);
    await handler(job.data);
  }
}
