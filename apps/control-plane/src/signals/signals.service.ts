import { Inject, Injectable } from '@nestjs/common';
import type { SignalDeclaration } from '@stepgate/policy';
import {
  StepgateError,
  type EventsIngestResponse,
  type SignalValueJson,
  type SubjectSignalsResponse,
} from '@stepgate/protocol';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { ActiveSignalsService } from './active-signals.service.js';
import { parseEvents } from './events-body.js';
import { planEvents } from './signal-plan.js';
import type { SignalsSnapshot } from './signal-store.js';
import { SignalEvents } from './signal.events.js';
import { SignalsRedis } from './signals-redis.js';
import { SignalsMetrics } from './signals.metrics.js';

/** A request to `POST /v1/events`, as the controller hands it over. */
export interface EventsRequest {
  tokenId: string;
  contentType: string | undefined;
  body: unknown;
}

/**
 * Risk signals: takes events (validated whole, rate-limited per token), aggregates the ones a
 * declared signal reads in Redis, announces changed values (SignalEvents) for the gateway to
 * push, and answers what a subject's signals are now.
 */
@Injectable()
export class SignalsService {
  constructor(
    private readonly redis: SignalsRedis,
    private readonly active: ActiveSignalsService,
    private readonly events: SignalEvents,
    private readonly metrics: SignalsMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async ingest(request: EventsRequest): Promise<EventsIngestResponse> {
    const now = Date.now();
    const events = parseEvents(request.contentType, request.body, now);
    const { signals } = await this.active.current();
    // Before the rate limit: a refused field must not use up the allowance.
    const planned = planEvents(events, signals, (id) => this.redis.store.dedupeKey(id));
    const limit = this.config.eventsRateLimit;
    const retryMs = await this.unlessRedisDown(() =>
      this.redis.store.rateLimit(request.tokenId, events.length, limit),
    );
    if (retryMs > 0) {
      this.metrics.rateLimited.inc();
      this.metrics.rateLimitedEvents.inc(events.length);
      const retryAfterSeconds = Math.ceil(retryMs / 1000);
      throw new StepgateError(
        'events/rate_limited',
        events.length > limit
          ? `${events.length} events in one request is more than this token may post in a second (${limit}, STEPGATE_EVENTS_RATE_LIMIT): send smaller batches`
          : `this token may post ${limit} events a second (STEPGATE_EVENTS_RATE_LIMIT); retry after ${retryAfterSeconds} s`,
        { limit, retryAfterSeconds },
      );
    }
    const result = await this.unlessRedisDown(() => this.redis.store.ingest(planned, now));
    this.metrics.events.inc({ result: 'counted' }, planned.length - result.duplicates);
    this.metrics.events.inc({ result: 'duplicate' }, result.duplicates);
    this.metrics.events.inc({ result: 'ignored' }, events.length - planned.length);
    this.metrics.changed.inc({ via: 'event' }, result.changed.length);
    this.events.emitChanged(result.changed);
    return {
      accepted: events.length,
      duplicates: result.duplicates,
      updated: result.changed.length,
    };
  }

  /** Every signal the active version declares, for one subject, now. */
  async subject(subject: string): Promise<SubjectSignalsResponse> {
    const now = Date.now();
    const { signals } = await this.active.current();
    const values = await this.unlessRedisDown(() =>
      this.redis.store.subject(subject, signals, now),
    );
    const response: SubjectSignalsResponse = {
      subject,
      at: new Date(now).toISOString(),
      signals: {},
    };
    for (const name of Object.keys(signals).sort()) {
      const declaration = signals[name];
      const current = values[name];
      if (!declaration || !current) continue;
      response.signals[name] = {
        event: declaration.event,
        aggregate: declaration.aggregate,
        window: declaration.window,
        ...(declaration.field === undefined ? {} : { field: declaration.field }),
        value: current.value,
        expiresAt: current.expiresAt === null ? null : new Date(current.expiresAt).toISOString(),
      };
    }
    return response;
  }

  /** Every value agents should hold now, of the signals the active version declares. */
  async snapshot(): Promise<SignalsSnapshot> {
    const { signals } = await this.active.current();
    return this.redis.store.snapshot(signals, Date.now());
  }

  /** Whether Redis is connected now (a read would not wait for a reconnection). */
  get connected(): boolean {
    return this.redis.client.status === 'ready';
  }

  /**
   * The values of `signals` (a policy set's declarations) for one subject now, as conditions
   * read them: what the control plane's own decisions (POST /v1/check) read, like an agent's.
   */
  async valuesFor(
    subject: string,
    signals: Record<string, SignalDeclaration>,
  ): Promise<Record<string, SignalValueJson>> {
    const values = await this.unlessRedisDown(() =>
      this.redis.store.subject(subject, signals, Date.now()),
    );
    return Object.fromEntries(Object.entries(values).map(([name, held]) => [name, held.value]));
  }

  private async unlessRedisDown<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StepgateError) throw error;
      throw new StepgateError(
        'service/unavailable',
        'risk signals are unavailable (Redis does not answer); nothing was taken: retry shortly',
        undefined,
        { cause: error },
      );
    }
  }
}
