import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { ActivationService } from './activation.service.js';
import { VersionReplayRepository } from './version-replay.repository.js';
import { VersionsController } from './versions.controller.js';
import { VersionsRepository } from './versions.repository.js';
import { VersionsService } from './versions.service.js';

@Module({
  imports: [LiveStateModule, AuditModule],
  controllers: [VersionsController],
  providers: [VersionsRepository, VersionsService, ActivationService, VersionReplayRepository],
  exports: [VersionsRepository, VersionsService, ActivationService],
})
export class VersionsModule {}
