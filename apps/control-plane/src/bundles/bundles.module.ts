import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IssuerKeysModule } from '../issuer-keys/issuer-keys.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { BundleService } from './bundle.service.js';
import { BundlesController } from './bundles.controller.js';
import { IssuerKeysRefreshService } from './issuer-keys-refresh.service.js';
import { SigningKeyService } from './signing-key.service.js';
import { SigningKeysRepository } from './signing-keys.repository.js';

@Module({
  imports: [IssuerKeysModule, LiveStateModule, VersionsModule, AuditModule],
  controllers: [BundlesController],
  providers: [SigningKeysRepository, SigningKeyService, BundleService, IssuerKeysRefreshService],
  exports: [SigningKeyService, BundleService],
})
export class BundlesModule {}
