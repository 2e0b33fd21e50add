import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { LiveDataController } from './live-data.controller.js';
import { LiveDataEvents } from './live-data.events.js';
import { LiveDataRepository } from './live-data.repository.js';
import { LiveDataService } from './live-data.service.js';

/**
 * Live data (`/v1/data`): documents the active version declares, written with a reason,
 * validated, audited and versioned by one data revision. Exports the service (snapshot,
 * changesSince) and the events (`live-data.changed`) the agent gateway delivers with.
 */
@Module({
  imports: [AuditModule, LiveStateModule, VersionsModule],
  controllers: [LiveDataController],
  providers: [LiveDataRepository, LiveDataService, LiveDataEvents],
  exports: [LiveDataService, LiveDataEvents],
})
export class LiveDataModule {}
