import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../common/metrics.registry.js';

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
  /** INSERT statements that stored decision records (rows per statement = ingested / this). */
  readonly inserts: Counter;
  /** Whether this replica's ingest reaches PostgreSQL (0 while it holds writes in an outage). */
  readonly databaseUp: Gauge;
  /** Records this replica took from the queue and has not stored yet (held in an outage). */
  readonly pendingRecords: Gauge;
  /** Decision-log jobs in Redis by state: acked batches not stored yet (cluster-wide). */
  readonly queueBatches: Gauge<'state'>;

  /** Read when /metrics is scraped; set by the services that know. */
  pendingSource: () => number = () => 0;
  queueSource: () => Promise<Record<string, number> | undefined> = () => Promise.resolve(undefined);

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
    this.inserts = new Counter({
      name: 'stepgate_decision_log_inserts_total',
      help: 'INSERT statements that stored decision records (several agent batches each under load)',
      registers,
    });
    this.databaseUp = new Gauge({
      name: 'stepgate_decision_log_database_up',
      help: 'Whether decision-log ingest on this replica reaches PostgreSQL (0: writes held, retried until it is back)',
      registers,
    });
    // prom-client calls collect() with the gauge as `this`; these read the sources set later.
    const pending = () => this.pendingSource();
    const queued = () => this.queueSource();
    this.pendingRecords = new Gauge({
      name: 'stepgate_decision_logs_pending_records',
      help: 'Decision records this replica took from the queue and has not stored yet (held while PostgreSQL is unreachable)',
      registers,
      collect() {
        this.set(pending());
      },
    });
    this.queueBatches = new Gauge({
      name: 'stepgate_decision_log_queue_batches',
      help: 'Decision-log queue jobs in Redis by state: agent batches (<= 1000 records each) acked but not stored yet; failed = given up. Includes the one delayed retention job',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await queued();
        // Redis unreachable: no sample rather than a stale one.
        this.reset();
        if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
  }
}
