import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../common/metrics.registry.js';
import type { DataSourceStatus } from './data-source-status.service.js';

/** What one fetch came to: published or unchanged (`ok`), a 304, or why it failed. */
export type FetchOutcome =
  | 'ok'
  | 'not_modified'
  | 'refused'
  | 'redirect'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'connection'
  | 'headers'
  | 'parse'
  | 'invalid'
  | 'publish';

/**
 * Prometheus series of data sources. The counter counts the fetches this replica ran; the
 * gauges are read from the shared state on each scrape, so every replica reports the same.
 */
@Injectable()
export class DataSourceMetrics {
  private readonly fetches: Counter<'source' | 'outcome'>;
  private readonly lastSuccess: Gauge<'source'>;
  private readonly up: Gauge<'source'>;

  constructor(registry: MetricsRegistry) {
    const registers = [registry.registry];
    this.fetches = new Counter({
      name: 'stepgate_data_source_fetches_total',
      help: 'Data source fetches run by this replica, by source and outcome (ok, not_modified, or the kind of failure)',
      labelNames: ['source', 'outcome'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'stepgate_data_source_last_success_timestamp_seconds',
      help: 'When each data source last fetched successfully (Unix time; absent before the first success)',
      labelNames: ['source'],
      registers,
    });
    this.up = new Gauge({
      name: 'stepgate_data_source_up',
      help: 'Whether the last fetch of each data source succeeded (1) or failed (0)',
      labelNames: ['source'],
      registers,
    });
  }

  fetched(source: string, outcome: FetchOutcome): void {
    this.fetches.inc({ source, outcome });
  }

  /** Sets the gauges from the sources' current state (only the sources the active version declares). */
  refresh(statuses: readonly DataSourceStatus[]): void {
    this.lastSuccess.reset();
    this.up.reset();
    for (const status of statuses) {
      if (status.lastSuccessAt !== null)
        this.lastSuccess.set({ source: status.name }, Date.parse(status.lastSuccessAt) / 1000);
      if (status.status !== 'pending')
        this.up.set({ source: status.name }, status.status === 'ok' ? 1 : 0);
    }
  }
}
