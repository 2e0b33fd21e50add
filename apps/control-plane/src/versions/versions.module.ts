import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { EmbeddedRepositoryModule } from '../git/embedded-repository.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { SourcesModule } from '../sources/sources.module.js';
import { ActivationService } from './activation.service.js';
import { VersionDiffService } from './version-diff.service.js';
import { VersionReplayRepository } from './version-replay.repository.js';
import { VersionsController } from './versions.controller.js';
import { VersionsRepository } from './versions.repository.js';
import { VersionsService } from './versions.service.js';

@Module({
  imports: [LiveStateModule, AuditModule, SourcesModule, EmbeddedRepositoryModule],
  controllers: [VersionsController],
  providers: [
    VersionsRepository,
    VersionsService,
    ActivationService,
    VersionReplayRepository,
    VersionDiffService,
  ],
  exports: [VersionsRepository, VersionsService, ActivationService],
})
export class VersionsModule {}
