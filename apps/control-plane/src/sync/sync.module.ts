import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { GitServerModule } from '../git-server/git-server.module.js';
import { SourcesModule } from '../sources/sources.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { SyncController } from './sync.controller.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncProcessor } from './sync.processor.js';
import { SyncQueueService } from './sync-queue.service.js';
import { SYNC_QUEUE } from './sync.queue.js';
import { SyncService } from './sync.service.js';

@Module({
  imports: [
    BullModule.registerQueue({ name: SYNC_QUEUE }),
    SourcesModule,
    VersionsModule,
    GitServerModule,
  ],
  controllers: [SyncController],
  providers: [SyncService, SyncProcessor, SyncQueueService, SyncMetrics],
  exports: [SyncQueueService, SyncService, SyncMetrics, BullModule],
})
export class SyncModule {}
