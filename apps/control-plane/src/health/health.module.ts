import { Module } from '@nestjs/common';
import { DataSourcesModule } from '../data-sources/data-sources.module.js';
import { EmbeddedRepositoryModule } from '../git/embedded-repository.module.js';
import { SourcesModule } from '../sources/sources.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';

@Module({
  imports: [SyncModule, EmbeddedRepositoryModule, SourcesModule, DataSourcesModule],
  controllers: [HealthController],
  providers: [HealthRepository],
})
export class HealthModule {}
