import { Global, Module } from '@nestjs/common';
import { IssuerKeysMetrics } from './issuer-keys.metrics.js';
import { IssuerKeysService } from './issuer-keys.service.js';

/** Global so BundleService can put issuer keys into every bundle it signs. */
@Global()
@Module({
  providers: [IssuerKeysMetrics, IssuerKeysService],
  exports: [IssuerKeysService, IssuerKeysMetrics],
})
export class IssuerKeysModule {}
