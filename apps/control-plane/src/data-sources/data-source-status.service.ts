import { Injectable } from '@nestjs/common';
import { shownDataSourceUrl } from '@stepgate/policy';
import type { DataSourceStatus } from '@stepgate/protocol';
import { LiveDataService } from '../live-data/live-data.service.js';
import { DataSourceMetrics } from './data-source.metrics.js';
import { DataSourceRepository } from './data-source.repository.js';

export type { DataSourceStatus };

/** The active version's data sources with the state their fetches left (any replica's). */
@Injectable()
export class DataSourceStatusService {
  constructor(
    private readonly liveData: LiveDataService,
    private readonly repository: DataSourceRepository,
    private readonly metrics: DataSourceMetrics,
  ) {}

  /** How each source of the active version is doing (/readyz, GET /v1/data-sources). */
  async list(): Promise<DataSourceStatus[]> {
    const sources = await this.liveData.dataSources();
    if (sources.length === 0) return [];
    const states = new Map(
      (await this.repository.states(sources.map((s) => s.name))).map((s) => [s.name, s]),
    );
    return sources.map((source) => {
      const state = states.get(source.name);
      // A state left by an earlier URL says nothing about this one.
      const current = state !== undefined && state.url === source.url ? state : undefined;
      const failures = current?.consecutiveFailures ?? 0;
      return {
        name: source.name,
        url: shownDataSourceUrl(source.url),
        every: source.every,
        format: source.format,
        status: current === undefined ? 'pending' : failures > 0 ? 'failing' : 'ok',
        lastFetchAt: current?.lastFetchAt?.toISOString() ?? null,
        lastSuccessAt: current?.lastSuccessAt?.toISOString() ?? null,
        lastError: current?.lastError ?? null,
        lastErrorAt: current?.lastErrorAt?.toISOString() ?? null,
        consecutiveFailures: failures,
      };
    });
  }

  /** Refreshes the metric gauges (before a scrape). */
  async refreshMetrics(): Promise<void> {
    this.metrics.refresh(await this.list());
  }
}
