import { BundleStore, type OfferResult } from '../bundle-store.js';
import { DecisionPoint, type FailMode } from '../decision-point.js';
import { LogBuffer } from '../log-buffer.js';
import type { BundleKind, Clock, Logger } from '../ports.js';
import { TrustStore } from '../trust-store.js';

export interface InProcessOptions {
  /** The control plane's bundle-signing public keys (its `GET /v1/keys` JWKS). */
  trustedKeys: unknown;
  /** A signed active bundle (the `jws` of `GET /v1/bundles/active`), if one is at hand. */
  bundle?: string;
  shadowBundle?: string;
  labels?: Readonly<Record<string, string>>;
  failMode?: FailMode;
  /** Keep decision records for shipping; omitted = no log kept. */
  logCapacity?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface InProcessDecisionPoint {
  point: DecisionPoint;
  store: BundleStore;
  logs?: LogBuffer;
  /** Verifies and swaps in a newer signed bundle (fetched however the service likes). */
  load(jws: string, kind?: BundleKind): Promise<OfferResult>;
}

/**
 * A decision point inside a Node service: decisions are synchronous, in-process calls. The
 * service fetches signed bundles itself (from an agent or the control plane) and hands them
 * to `load`; they are verified against `trustedKeys` exactly as the agent does.
 *
 * @throws StepgateError `key/invalid` for an unusable key set; `Error` when `bundle` is refused.
 */
export async function createDecisionPoint(
  options: InProcessOptions,
): Promise<InProcessDecisionPoint> {
  const trust = TrustStore.fromJwks(options.trustedKeys, options.logger);
  const store = new BundleStore({
    trust,
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const logs = options.logCapacity !== undefined ? new LogBuffer(options.logCapacity) : undefined;
  const point = new DecisionPoint({
    store,
    ...(logs !== undefined ? { logs } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    failMode: options.failMode ?? 'closed',
  });
  const load = (jws: string, kind: BundleKind = 'active') =>
    store.offer(kind, jws, { source: 'local' });
  for (const [kind, jws] of [
    ['active', options.bundle],
    ['shadow', options.shadowBundle],
  ] as const) {
    if (jws === undefined) continue;
    const result = await load(jws, kind);
    if (!result.applied) throw new Error(`the ${kind} bundle was refused: ${result.reason}`);
  }
  return { point, store, ...(logs !== undefined ? { logs } : {}), load };
}
