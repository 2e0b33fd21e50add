import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger.js';
import { ActiveSignalsService } from './active-signals.service.js';
import { SWEEP_BATCH } from './signal-store.js';
import { SignalEvents } from './signal.events.js';
import { SignalsRedis } from './signals-redis.js';
import { SignalsMetrics } from './signals.metrics.js';

/** How often each replica looks for values due to change (events leaving their window). */
export const SWEEP_INTERVAL_MS = 300;
/** Batches one tick takes at most, so one tick cannot hold the event loop for long. */
const MAX_BATCHES_PER_TICK = 20;
const WARN_INTERVAL_MS = 30_000;

/**
 * Lowers signal values as their events leave the window, down to zero, and announces each new
 * value. Runs on every replica; the sweep script claims each due entry for one of them.
 */
@Injectable()
export class SignalSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastWarned = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: SignalsRedis,
    private readonly active: ActiveSignalsService,
    private readonly events: SignalEvents,
    private readonly metrics: SignalsMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: every due entry, in batches. */
  async tick(): Promise<void> {
    try {
      const { signals } = await this.active.current();
      for (let batch = 0; batch < MAX_BATCHES_PER_TICK; batch++) {
        const { claimed, changed } = await this.redis.store.sweep(signals, Date.now());
        this.metrics.changed.inc({ via: 'sweep' }, changed.length);
        this.events.emitChanged(changed);
        if (claimed < SWEEP_BATCH) break;
      }
    } catch (error) {
      // Due entries stay due: the next tick (here or on another replica) takes them.
      if (Date.now() - this.lastWarned < WARN_INTERVAL_MS) return;
      this.lastWarned = Date.now();
      this.logger.warn({ error: (error as Error).message }, 'signal sweep failed; retrying');
    }
  }
}
