import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { DecisionIngestService } from './decision-ingest.service.js';
import { DecisionLogIntakeService } from './decision-log-intake.service.js';
import { DecisionLogQueueService } from './decision-log-queue.service.js';
import { DecisionLogWriterService } from './decision-log-writer.service.js';
import { DecisionLogsProcessor } from './decision-logs.processor.js';
import { DECISION_LOGS_QUEUE } from './decision-logs.queue.js';
import { DecisionMetrics } from './decision.metrics.js';
import { DecisionsController } from './decisions.controller.js';
import { DecisionsRepository } from './decisions.repository.js';
import { DecisionsService } from './decisions.service.js';
import { ShadowReportService } from './shadow-report.service.js';

/** Decision logs: ingest from agents through the queue, retention, queries, shadow report. */
@Module({
  imports: [
    BullModule.registerQueue({ name: DECISION_LOGS_QUEUE }),
    LiveStateModule,
    VersionsModule,
  ],
  controllers: [DecisionsController],
  providers: [
    DecisionsRepository,
    DecisionMetrics,
    DecisionIngestService,
    DecisionLogQueueService,
    DecisionLogWriterService,
    DecisionLogIntakeService,
    DecisionLogsProcessor,
    DecisionsService,
    ShadowReportService,
  ],
  exports: [DecisionLogIntakeService],
})
export class DecisionsModule {}
