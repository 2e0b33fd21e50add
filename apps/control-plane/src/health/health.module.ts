import { Module } from '@nestjs/common';
import { GitServerModule } from '../git-server/git-server.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [SyncModule, GitServerModule], controllers: [HealthController] })
export class HealthModule {}
