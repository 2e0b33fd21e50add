import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../common/metrics.registry.js';

/** Prometheus series of event ingest and signal aggregation on this replica. */
@Injectable()
export class SignalsMetrics {
  /** Events posted and taken, by outcome. */
  readonly events: Counter<'result'>;
  /** Requests refused by the per-token rate limit, and the events they carried. */
  readonly rateLimited: Counter;
  readonly rateLimitedEvents: Counter;
  /** Per-subject values that changed here (by an event or the sweeper). */
  readonly changed: Counter<'via'>;
  /** Values sent to agents: in broadcasts (once per value) or in connect snapshots. */
  readonly pushed: Counter<'via'>;
  /** Signed signals messages sent. */
  readonly messages: Counter<'via'>;

  constructor(registry: MetricsRegistry) {
    const registers = [registry.registry];
    this.events = new Counter({
      name: 'stepgate_events_total',
      help: 'Events taken by POST /v1/events: counted (read by a signal), duplicate (id seen), or ignored (no signal reads the type, or older than the window)',
      labelNames: ['result'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'stepgate_events_rate_limited_total',
      help: 'POST /v1/events requests refused with 429 by the per-token rate limit',
      registers,
    });
    this.rateLimitedEvents = new Counter({
      name: 'stepgate_events_rate_limited_events_total',
      help: 'Events in requests refused with 429 by the per-token rate limit',
      registers,
    });
    this.changed = new Counter({
      name: 'stepgate_signal_values_changed_total',
      help: 'Per-subject signal values changed on this replica, by an event (via=event) or by events leaving the window (via=sweep)',
      labelNames: ['via'],
      registers,
    });
    this.pushed = new Counter({
      name: 'stepgate_signal_values_pushed_total',
      help: 'Signal values sent to agents: broadcast on change (once per value) or in the snapshot each connecting agent gets',
      labelNames: ['via'],
      registers,
    });
    this.messages = new Counter({
      name: 'stepgate_signal_messages_total',
      help: 'Signed signals messages sent to agents (broadcast or connect snapshot)',
      labelNames: ['via'],
      registers,
    });
  }
}
