import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { LiveDataRepository } from '../live-data/live-data.repository.js';
import { VersionsModule } from '../versions/versions.module.js';
import { ReplayRecordsRepository } from './replay-records.repository.js';
import { ReplayRunnerService } from './replay-runner.service.js';
import { ReplayController } from './replay.controller.js';
import { ReplayProcessor } from './replay.processor.js';
import { REPLAY_QUEUE } from './replay.queue.js';
import { ReplayRepository } from './replay.repository.js';
import { ReplayService } from './replay.service.js';

@Module({
  imports: [BullModule.registerQueue({ name: REPLAY_QUEUE }), VersionsModule, AuditModule],
  controllers: [ReplayController],
  providers: [
    ReplayService,
    ReplayRunnerService,
    ReplayProcessor,
    ReplayRepository,
    ReplayRecordsRepository,
    // Stateless reads of the write history (documentsAt); the live-data module keeps the writes.
    LiveDataRepository,
  ],
  exports: [ReplayService],
})
export class ReplayModule {}
