import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
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
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: database, Redis and the policy source are reachable; 503 names what is not. */
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
    return { status: ready ? 'ready' : 'not_ready', checks: { database, redis, git } };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async metrics() {
    await this.syncMetrics.refreshVersionGauges().catch(() => undefined);
    return this.registry.registry.metrics();
  }
}
