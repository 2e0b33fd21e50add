import { Module } from '@nestjs/common';
import { IssuerKeysController } from './issuer-keys.controller.js';
import { IssuerKeysMetrics } from './issuer-keys.metrics.js';
import { IssuerKeysService } from './issuer-keys.service.js';

/**
 * The trusted issuers' public keys (fetched JWKS, cached, last good on failure). Imported by
 * bundles, which signs them into every bundle and re-issues the bundle when they rotate;
 * depends on no feature, so it needs no @Global.
 */
@Module({
  controllers: [IssuerKeysController],
  providers: [IssuerKeysMetrics, IssuerKeysService],
  exports: [IssuerKeysService, IssuerKeysMetrics],
})
export class IssuerKeysModule {}
