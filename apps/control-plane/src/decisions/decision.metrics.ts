import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../health/metrics.registry.js';

/** Prometheus series of decision-log ingest on this replica. */
@Injectable()
export class DecisionMetrics {
  /** Batches received over the agent sockets, by result (queued, refused, error). */
  readonly batches: Counter<'result'>;
  /** Rows written to PostgreSQL. */
  readonly ingested: Counter;
  /** Records of re-sent batches that were already stored. */
  readonly duplicates: Counter;
  /** Records refused at the gateway for a bad shape. */
  readonly invalid: Counter;
  /** Records the agents reported dropping (their buffer was full). */
  readonly droppedByAgents: Counter;
  /** Rows deleted by retention. */
  readonly pruned: Counter;

  constructor(registry: MetricsRegistry) {
    const registers = [registry.registry];
    this.batches = new Counter({
      name: 'stepgate_decision_log_batches_total',
      help: 'Decision-log batches received from agents, by result',
      labelNames: ['result'],
      registers,
    });
    this.ingested = new Counter({
      name: 'stepgate_decision_logs_ingested_total',
      help: 'Decision records written to the database',
      registers,
    });
    this.duplicates = new Counter({
      name: 'stepgate_decision_logs_duplicate_total',
      help: 'Decision records received again (re-sent batches) and skipped',
      registers,
    });
    this.invalid = new Counter({
      name: 'stepgate_decision_logs_invalid_total',
      help: 'Decision records refused at the gateway for a bad shape',
      registers,
    });
    this.droppedByAgents = new Counter({
      name: 'stepgate_decision_logs_dropped_by_agents_total',
      help: 'Decision records agents dropped because their buffer was full (as they reported)',
      registers,
    });
    this.pruned = new Counter({
      name: 'stepgate_decision_logs_pruned_total',
      help: 'Decision records deleted by retention',
      registers,
    });
  }
}
