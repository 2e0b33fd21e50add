import { Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics.registry.js';

/** Global: pure infrastructure (one Prometheus registry) that every feature's metrics use. */
@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsModule {}
