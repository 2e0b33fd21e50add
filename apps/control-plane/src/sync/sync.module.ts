import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { EmbeddedRepositoryModule } from '../git/embedded-repository.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { ReplayModule } from '../replay/replay.module.js';
import { SourcesModule } from '../sources/sources.module.js';
import { StepUpModule } from '../step-up/step-up.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { CommitVerdictService } from './commit-verdict.service.js';
import { SyncController } from './sync.controller.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncProcessor } from './sync.processor.js';
import { SyncQueueService } from './sync-queue.service.js';
import { SyncRepository } from './sync.repository.js';
import { SYNC_QUEUE } from './sync.queue.js';
import { SyncReplayService } from './sync-replay.service.js';
import { SyncService } from './sync.service.js';

@Module({
  imports: [
    BullModule.registerQueue({ name: SYNC_QUEUE }),
    SourcesModule,
    VersionsModule,
    EmbeddedRepositoryModule,
    LiveStateModule,
    AuditModule,
    StepUpModule,
    ReplayModule,
  ],
  controllers: [SyncController],
  providers: [
    SyncService,
    SyncProcessor,
    SyncQueueService,
    SyncMetrics,
    SyncRepository,
    CommitVerdictService,
    SyncReplayService,
  ],
  exports: [SyncQueueService, SyncService, SyncMetrics, CommitVerdictService, BullModule],
})
export class SyncModule {}
