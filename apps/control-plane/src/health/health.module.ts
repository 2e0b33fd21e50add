import { Global, Module } from '@nestjs/common';
import { GitServerModule } from '../git-server/git-server.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { HealthController } from './health.controller.js';
import { MetricsRegistry } from './metrics.registry.js';

@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsModule {}

@Module({ imports: [SyncModule, GitServerModule], controllers: [HealthController] })
export class HealthModule {}
