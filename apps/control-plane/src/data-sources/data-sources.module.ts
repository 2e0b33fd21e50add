import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { LiveDataModule } from '../live-data/live-data.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { DataSourcePollerService } from './data-source-poller.service.js';
import { DataSourceSchedulerService } from './data-source-scheduler.service.js';
import { DataSourceStatusService } from './data-source-status.service.js';
import { DataSourceMetrics } from './data-source.metrics.js';
import { DataSourceProcessor } from './data-source.processor.js';
import { DATA_SOURCE_QUEUE } from './data-source.queue.js';
import { DataSourceRepository } from './data-source.repository.js';
import { DataSourcesController } from './data-sources.controller.js';

/**
 * Data sources (`dataSources:` in stepgate.yaml): one poller per source across replicas (a
 * BullMQ job scheduler), fetches published as live data. Exports the status service that
 * /readyz and /metrics read.
 */
@Module({
  imports: [BullModule.registerQueue({ name: DATA_SOURCE_QUEUE }), LiveDataModule, LiveStateModule],
  controllers: [DataSourcesController],
  providers: [
    DataSourceRepository,
    DataSourceMetrics,
    DataSourcePollerService,
    DataSourceSchedulerService,
    DataSourceProcessor,
    DataSourceStatusService,
  ],
  exports: [DataSourceStatusService],
})
export class DataSourcesModule {}
