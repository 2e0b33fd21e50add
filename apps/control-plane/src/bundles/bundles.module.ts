import { Module } from '@nestjs/common';
import { IssuerKeysModule } from '../issuer-keys/issuer-keys.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { BundleService } from './bundle.service.js';
import { BundlesController } from './bundles.controller.js';
import { SigningKeyService } from './signing-key.service.js';
import { SigningKeysRepository } from './signing-keys.repository.js';

@Module({
  imports: [IssuerKeysModule, LiveStateModule, VersionsModule],
  controllers: [BundlesController],
  providers: [SigningKeysRepository, SigningKeyService, BundleService],
  exports: [SigningKeyService, BundleService],
})
export class BundlesModule {}
