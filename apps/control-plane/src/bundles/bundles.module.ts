import { Module } from '@nestjs/common';
import { BundleService } from './bundle.service.js';
import { BundlesController } from './bundles.controller.js';
import { LiveStateEvents } from './live-state.events.js';
import { SigningKeyService } from './signing-key.service.js';

@Module({
  controllers: [BundlesController],
  providers: [LiveStateEvents, SigningKeyService, BundleService],
  exports: [LiveStateEvents, SigningKeyService, BundleService],
})
export class BundlesModule {}
