import { Module } from '@nestjs/common';
import { IssuerKeysController } from './issuer-keys.controller.js';
import { IssuerKeysMetrics } from './issuer-keys.metrics.js';
import { IssuerKeysService } from './issuer-keys.service.js';

/**
 * The trusted issuers' public keys (fetched JWKS, cached, last good on failure). Imported by
 * bundles (which sign them into every bundle) and step-up (periodic refresh); depends on no
 * feature, so it needs no @Global.
 */
@Module({
  controllers: [IssuerKeysController],
  providers: [IssuerKeysMetrics, IssuerKeysService],
  exports: [IssuerKeysService, IssuerKeysMetrics],
})
export class IssuerKeysModule {}
