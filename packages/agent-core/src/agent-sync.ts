import { verifyShadowCleared, verifySignalsMessage } from '@stepgate/protocol';
import type {
  BundleMessage,
  DataMessage,
  ShadowClearedMessage,
  SignalsMessage,
  SignalsPayload,
} from '@stepgate/protocol';
import type { BundleStore, OfferResult } from './bundle-store.js';
import type { GrantStore } from './evidence/grant-store.js';
import type { DataOfferResult, LiveDataStore } from './live-data-store.js';
import {
  silentLogger,
  systemClock,
  type Clock,
  type ControlPlaneLink,
  type Logger,
} from './ports.js';
import type { SignalsApplyResult, SignalStore } from './signal-store.js';
import type { ServerKeysResult, TrustStore } from './trust-store.js';

/** What became of a signals message from the control plane. */
export type SignalsOfferResult =
  | ({ status: 'applied'; snapshot: boolean } & SignalsApplyResult)
  /** Unsigned, forged, signed by an untrusted key, or malformed: nothing applied. */
  | { status: 'invalid'; reason: string };

export interface AgentSyncOptions {
  link: ControlPlaneLink;
  store: BundleStore;
  trust: TrustStore;
  /** Where grants messages go; without one they are ignored. */
  grants?: GrantStore;
  /** Where live-data messages go; without one they are ignored. */
  liveData?: LiveDataStore;
  /** Where risk-signal messages go; without one they are ignored. */
  signals?: SignalStore;
  clock?: Clock;
  logger?: Logger;
  /** Told about every bundle offered by the control plane (metrics). */
  onBundleResult?: (result: OfferResult) => void;
  /** Told about every key set the control plane sent (metrics: keys refused). */
  onKeysResult?: (result: ServerKeysResult) => void;
  /** Told about every live-data message offered by the control plane. */
  onDataResult?: (result: DataOfferResult) => void;
  /** Told about every signals message offered by the control plane (metrics: refusals). */
  onSignalsResult?: (result: SignalsOfferResult) => void;
}

/**
 * Applies what the control plane sends: keys to the trust store, bundles to the bundle store
 * (acking each applied revision, reporting each refusal), signed shadow clears, grants to the
 * grant store; and keeps the store's sync time while the connection is up. Messages are handled
 * one at a time in arrival order, so keys sent before a bundle are pinned before it is verified.
 */
export class AgentSync {
  private readonly link: ControlPlaneLink;
  private readonly store: BundleStore;
  private readonly trust: TrustStore;
  private readonly grants: GrantStore | undefined;
  private readonly liveData: LiveDataStore | undefined;
  private readonly signals: SignalStore | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onBundleResult: AgentSyncOptions['onBundleResult'];
  private readonly onKeysResult: AgentSyncOptions['onKeysResult'];
  private readonly onDataResult: AgentSyncOptions['onDataResult'];
  private readonly onSignalsResult: AgentSyncOptions['onSignalsResult'];
  private queue: Promise<void> = Promise.resolve();
  /** Bundles refused as unverifiable: offered again when new keys get pinned. */
  private readonly unverified = new Map<BundleMessage['kind'], BundleMessage>();
  /** A data message refused as unverifiable: offered again when new keys get pinned. */
  private unverifiedData: DataMessage | undefined;
  /** The last signals message refused as unverifiable: offered again when new keys get pinned. */
  private unverifiedSignals: SignalsMessage | undefined;
  private started = false;

  constructor(options: AgentSyncOptions) {
    this.link = options.link;
    this.store = options.store;
    this.trust = options.trust;
    this.grants = options.grants;
    this.liveData = options.liveData;
    this.signals = options.signals;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.onBundleResult = options.onBundleResult;
    this.onKeysResult = options.onKeysResult;
    this.onDataResult = options.onDataResult;
    this.onSignalsResult = options.onSignalsResult;
  }

  /** Subscribes to the link. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.link.onKeys((jwks) => this.enqueue(() => this.keys(jwks)));
    this.link.onBundle((message) => this.enqueue(() => this.bundle(message)));
    this.link.onShadowCleared((message) => this.enqueue(() => this.shadowCleared(message)));
    this.link.onGrants((message) =>
      this.enqueue(async () => {
        // Queued behind keys and bundles: grants sent after the keys verify with them.
        await this.grants?.apply(message);
      }),
    );
    if (this.liveData !== undefined)
      this.link.onData?.((message) => this.enqueue(() => this.data(message)));
    if (this.signals !== undefined)
      this.link.onSignals?.((message) => this.enqueue(() => this.signalValues(message)));
    this.link.onConnectionChange((connected) => {
      // In line with the messages: the connection's first snapshot is judged against this.
      if (connected && this.signals !== undefined) {
        const signals = this.signals;
        this.enqueue(async () => signals.connected());
      }
      // Connected or just disconnected, the bundle was current up to this moment.
      this.store.markSynced(this.clock.now());
      this.logger.info(
        connected ? 'connected to the control plane' : 'disconnected from the control plane',
      );
      if (!connected) void this.store.saveSyncedAt();
    });
  }

  /** Resolves once every message received so far has been handled (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => {
      this.logger.error(
        { error: error instanceof Error ? error.message : String(error) },
        'a control-plane message could not be handled',
      );
    });
  }

  private async keys(jwks: unknown): Promise<void> {
    const result = await this.trust.acceptServerKeys(jwks);
    this.onKeysResult?.(result);
    if (result.invalid > 0)
      this.logger.warn(
        { invalid: result.invalid },
        'the control plane sent key entries that are not Ed25519 public keys',
      );
    if (result.status !== 'pinned') return;
    // A bundle that arrived before the keys that sign it would otherwise wait for the next revision.
    const retry = [...this.unverified.values()];
    this.unverified.clear();
    for (const message of retry) await this.bundle(message);
    const data = this.unverifiedData;
    this.unverifiedData = undefined;
    if (data !== undefined) await this.data(data);
    const signals = this.unverifiedSignals;
    this.unverifiedSignals = undefined;
    if (signals !== undefined) await this.signalValues(signals);
  }

  /**
   * Risk signals: applied only when signed by a trusted key (a forged message could otherwise
   * lift a step-up by zeroing a signal, or lock a person out). Not acked: every message carries
   * its own seq per value, and a reconnect brings a snapshot.
   */
  private async signalValues(message: SignalsMessage): Promise<void> {
    const store = this.signals as SignalStore;
    let payload: SignalsPayload;
    try {
      payload = await verifySignalsMessage(message, this.trust.jwks);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.unverifiedSignals = message;
      this.onSignalsResult?.({ status: 'invalid', reason });
      this.logger.error({ reason: reason.slice(0, 500) }, 'risk signals refused');
      return;
    }
    this.unverifiedSignals = undefined;
    const result = store.apply(payload, this.clock.now());
    if (result.reset)
      this.logger.warn(
        { seq: payload.seq, dropped: result.dropped },
        'the control plane restarted its risk-signal sequence; its snapshot replaces every value held',
      );
    this.onSignalsResult?.({ status: 'applied', snapshot: payload.snapshot, ...result });
    this.logger.debug(
      { seq: payload.seq, snapshot: payload.snapshot, ...result, held: store.size },
      'risk signals applied',
    );
  }

  /**
   * Live data: acked once persisted (a duplicate is acked again with the revision held, so the
   * fleet view is right); past a gap the agent asks for what changed since the revision held.
   */
  private async data(message: DataMessage): Promise<void> {
    const store = this.liveData as LiveDataStore;
    const result = await store.offer(message);
    this.onDataResult?.(result);
    this.unverifiedData = result.status === 'invalid' ? message : undefined;
    switch (result.status) {
      case 'applied':
        if (result.persisted) this.link.ackData?.({ revision: result.revision });
        return;
      case 'duplicate':
        this.link.ackData?.({ revision: result.revision });
        return;
      case 'gap':
        this.logger.warn(
          { dataRevision: result.revision, fromRevision: message.revision },
          'live data skipped revisions; asking the control plane for what changed since',
        );
        this.link.resyncData?.({ revision: result.revision });
        return;
      case 'invalid':
        this.logger.error(
          { dataRevision: message.revision, reason: result.reason },
          'live data refused',
        );
    }
  }

  /** Only a clear signed by a trusted key removes the shadow (and raises its floor). */
  private async shadowCleared(message: ShadowClearedMessage): Promise<void> {
    let revision: number;
    try {
      revision = await verifyShadowCleared(message, this.trust.jwks);
    } catch (error) {
      this.logger.error(
        {
          revision: message.revision,
          reason: error instanceof Error ? error.message : String(error),
        },
        'shadow clear refused',
      );
      return;
    }
    await this.store.clearShadow(revision);
  }

  private async bundle(message: BundleMessage): Promise<void> {
    const result = await this.store.offer(message.kind, message.jws, {
      source: 'control-plane',
      expectedRevision: message.revision,
    });
    this.onBundleResult?.(result);
    if (!result.applied && result.code === 'invalid') this.unverified.set(message.kind, message);
    else this.unverified.delete(message.kind);
    if (result.applied || result.code === 'duplicate') {
      // A duplicate is a bundle already enforced: ack it again so the fleet view is right.
      this.link.ackBundle({
        kind: message.kind,
        revision: result.revision ?? message.revision,
        appliedAt: new Date(this.clock.now()).toISOString(),
      });
      return;
    }
    this.logger.error(
      { revision: message.revision, code: result.code, reason: result.reason },
      `${message.kind} bundle refused`,
    );
    this.link.rejectBundle({
      kind: message.kind,
      revision: message.revision,
      reason: result.reason.slice(0, 500),
    });
  }
}
