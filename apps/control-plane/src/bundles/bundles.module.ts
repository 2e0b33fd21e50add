import { Module } from '@nestjs/common';
import { IssuerKeysModule } from '../issuer-keys/issuer-keys.module.js';
import { BundleService } from './bundle.service.js';
import { BundlesController } from './bundles.controller.js';
import { LiveStateEvents } from './live-state.events.js';
import { SigningKeyService } from './signing-key.service.js';

@Module({
  imports: [IssuerKeysModule],
  controllers: [BundlesController],
  providers: [LiveStateEvents, SigningKeyService, BundleService],
  exports: [LiveStateEvents, SigningKeyService, BundleService],
})
export class BundlesModule {}
