import { Module } from '@nestjs/common';
import { BundlesModule } from '../bundles/bundles.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { ActivationService } from './activation.service.js';
import { VersionsController } from './versions.controller.js';
import { VersionsService } from './versions.service.js';

@Module({
  imports: [BundlesModule, LiveStateModule],
  controllers: [VersionsController],
  providers: [VersionsService, ActivationService],
  exports: [VersionsService, ActivationService],
})
export class VersionsModule {}
