import { Module } from '@nestjs/common';
import { EmbeddedRepositoryModule } from '../git/embedded-repository.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [SyncModule, EmbeddedRepositoryModule], controllers: [HealthController] })
export class HealthModule {}
