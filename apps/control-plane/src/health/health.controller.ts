import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { DataSourceStatusService } from '../data-sources/data-source-status.service.js';
import { Public } from '../common/scopes.js';
import { EmbeddedRepositoryService } from '../git/embedded-repository.service.js';
import { redisClientOf } from '../common/queue-client.js';
import { DEFAULT_SOURCE_ID } from '../sources/sources.service.js';
import { SourcesRepository } from '../sources/sources.repository.js';
import { SYNC_QUEUE } from '../sync/sync.queue.js';
import { SyncMetrics } from '../sync/sync.metrics.js';
import { MetricsRegistry } from '../common/metrics.registry.js';
import { HealthRepository } from './health.repository.js';

type Check = { ok: boolean; error?: string };

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

@Controller()
@Public()
export class HealthController {
  constructor(
    private readonly database: HealthRepository,
    private readonly sources: SourcesRepository,
    @InjectQueue(SYNC_QUEUE) private readonly queue: Queue,
    private readonly repository: EmbeddedRepositoryService,
    private readonly registry: MetricsRegistry,
    private readonly syncMetrics: SyncMetrics,
    private readonly dataSources: DataSourceStatusService,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /**
   * Readiness: database, Redis and the policy source are reachable; 503 names what is not.
   * `dataSources` shows how each data source's fetches go; a failing one does not make the
   * control plane unready (agents keep its last good value, and taking this replica out of
   * service would not bring a remote feed back).
   */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) response: Response) {
    const check = async (probe: () => Promise<unknown>): Promise<Check> => {
      try {
        await withTimeout(probe(), 2000);
        return { ok: true };
      } catch (error) {
        return {
          ok: false,
          error: ((error as Error).message ?? 'failed').split('\n')[0] as string,
        };
      }
    };
    const [database, redis, git] = await Promise.all([
      check(() => this.database.ping()),
      check(async () => (await redisClientOf(this.queue)).ping()),
      check(async () => {
        const source = await this.sources.byId(DEFAULT_SOURCE_ID);
        if (source?.kind === 'embedded' && !existsSync(this.repository.dir))
          throw new Error('embedded repository missing');
        if (source?.lastSyncError) throw new Error(`last sync failed: ${source.lastSyncError}`);
      }),
    ]);
    const ready = database.ok && redis.ok && git.ok;
    response.status(ready ? 200 : 503);
    const dataSources = await withTimeout(this.dataSources.list(), 2000).catch(() => undefined);
    return {
      status: ready ? 'ready' : 'not_ready',
      checks: { database, redis, git },
      ...(dataSources === undefined || dataSources.length === 0
        ? {}
        : {
            dataSources: dataSources.map((source) => ({
              name: source.name,
              url: source.url,
              status: source.status,
              lastSuccessAt: source.lastSuccessAt,
              lastError: source.lastError,
              lastErrorAt: source.lastErrorAt,
              consecutiveFailures: source.consecutiveFailures,
            })),
          }),
    };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async metrics() {
    await this.syncMetrics.refreshVersionGauges().catch(() => undefined);
    await this.dataSources.refreshMetrics().catch(() => undefined);
    return this.registry.registry.metrics();
  }
}
