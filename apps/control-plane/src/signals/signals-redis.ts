import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { redisOptions } from '../config/redis-options.js';
import { LOGGER } from '../logging/logger.js';
import { SignalStore } from './signal-store.js';

/**
 * The Redis connection of risk signals and the store on it. A command fails after one retry
 * rather than waiting for Redis forever (as BullMQ's connections do): an ingest answers 503
 * and the sender retries, the sweeper tries again on its next tick.
 */
@Injectable()
export class SignalsRedis implements OnApplicationShutdown {
  readonly client: Redis;
  readonly store: SignalStore;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(LOGGER) logger: Logger) {
    this.client = new Redis({
      ...(redisOptions(config.redisUrl) as Record<string, unknown>),
      maxRetriesPerRequest: 1,
    });
    this.client.on('error', redisErrorLogger(logger, 'risk signals'));
    this.store = new SignalStore(this.client, config.redisPrefix);
  }

  /** After every module's destroy hook: the sweeper and the gateway are done with it. */
  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}
