import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../common/metrics.registry.js';

/** Prometheus series of issuer JWKS fetching: failures, and when each issuer last answered. */
@Injectable()
export class IssuerKeysMetrics {
  readonly failures: Counter<'issuer'>;
  readonly lastSuccess: Gauge<'issuer'>;
  readonly refreshes: Counter;

  constructor(registry: MetricsRegistry) {
    const registers = [registry.registry];
    this.failures = new Counter({
      name: 'stepgate_jwks_fetch_failures_total',
      help: 'Issuer JWKS fetches that failed (the last good keys stay in the bundle)',
      labelNames: ['issuer'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'stepgate_jwks_last_success_timestamp_seconds',
      help: 'When each issuer JWKS was last fetched successfully (Unix time)',
      labelNames: ['issuer'],
      registers,
    });
    this.refreshes = new Counter({
      name: 'stepgate_jwks_rotations_total',
      help: 'Bundles re-signed because an issuer published different keys',
      registers,
    });
  }
}
