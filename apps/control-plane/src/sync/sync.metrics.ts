import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { MetricsRegistry } from '../common/metrics.registry.js';
import { SyncRepository } from './sync.repository.js';

/** Prometheus series of the sync pipeline: syncs, their duration, versions by status, live revision. */
@Injectable()
export class SyncMetrics {
  private readonly syncs: Counter<'result'>;
  private readonly duration: Histogram<'result'>;
  private readonly versions: Gauge<'status'>;
  private readonly revision: Gauge;

  constructor(
    registry: MetricsRegistry,
    private readonly repository: SyncRepository,
    private readonly liveState: LiveStateRepository,
  ) {
    const registers = [registry.registry];
    this.syncs = new Counter({
      name: 'stepgate_syncs_total',
      help: 'Policy source syncs by result',
      labelNames: ['result'],
      registers,
    });
    this.duration = new Histogram({
      name: 'stepgate_sync_duration_seconds',
      help: 'Duration of policy source syncs',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.versions = new Gauge({
      name: 'stepgate_policy_versions',
      help: 'Policy versions by status',
      labelNames: ['status'],
      registers,
    });
    this.revision = new Gauge({
      name: 'stepgate_active_revision',
      help: 'The current bundle revision',
      registers,
    });
  }

  startTimer(): (result: 'ok' | 'error') => void {
    const end = this.duration.startTimer();
    return (result) => {
      end({ result });
      this.syncs.inc({ result });
    };
  }

  async refreshVersionGauges(): Promise<void> {
    const [counts, state] = await Promise.all([
      this.repository.versionCounts(),
      this.liveState.current(),
    ]);
    this.versions.reset();
    for (const row of counts) this.versions.set({ status: row.status }, row.count);
    this.revision.set(state.revision);
  }
}
