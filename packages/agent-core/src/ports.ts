import type {
  BundleAck,
  BundleJwks,
  BundleMessage,
  BundleRejected,
  DataAck,
  DataMessage,
  DataResync,
  GrantsMessage,
  LogBatch,
  LogBatchAck,
  ShadowClearedMessage,
  SignalsMessage,
} from '@stepgate/protocol';

/**
 * The small interfaces agent-core does its I/O through. The agent process implements them
 * with the file system and socket.io; tests and in-process SDK users pass fakes or memory.
 */

/** Which bundle: the enforced one or the dry-run one beside it. */
export type BundleKind = 'active' | 'shadow';

/** Wall-clock time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Structured log lines in pino's argument order, `logger.info({ revision }, 'bundle applied')`,
 * as in the control plane, so the agent passes its pino logger as is. `fields` must be
 * JSON-serialisable and should hold no secrets (the agent's logger redacts common ones anyway).
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  debug(message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  info(message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  warn(message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Where the last verified bundle of each kind is kept between restarts. What it returns is
 * untrusted: it goes through the same signature check as a bundle from the wire.
 */
export interface BundleCache {
  load(kind: BundleKind): Promise<string | undefined>;
  save(kind: BundleKind, jws: string): Promise<void>;
  remove(kind: BundleKind): Promise<void>;
  /** The last moment the agent knew its bundle was current (epoch ms), for staleness after a restart. */
  loadSyncedAt?(): Promise<number | undefined>;
  saveSyncedAt?(syncedAt: number): Promise<void>;
}

/**
 * What the pin store keeps: the trusted keys, and the endorsements (key sets signed by a
 * trusted key) that added rotated keys, so configured trust can walk them again on start.
 */
export interface PinnedKeys extends BundleJwks {
  endorsements?: string[];
}

/** Where the agent keeps the bundle-signing keys it pinned or accepted through rotation. */
export interface KeyPinStore {
  /** The pinned keys as stored (unvalidated), or undefined when nothing is pinned yet. */
  load(): Promise<unknown>;
  save(pinned: PinnedKeys): Promise<void>;
}

/** What the grant cache keeps: the grants' JWS (re-verified on load) and revoked ids. */
export interface StoredGrants {
  grants: string[];
  revoked: string[];
}

/**
 * Where grants are kept between restarts, so they are honoured while the control plane is
 * down. What `load` returns is untrusted: every grant is verified again.
 */
export interface GrantCache {
  load(): Promise<StoredGrants | undefined>;
  save(state: StoredGrants): Promise<void>;
}

/**
 * Where the live-data messages are kept between restarts, so the agent decides with the live
 * data it had while the control plane is down. What `load` returns is untrusted: every message
 * is verified again.
 */
export interface LiveDataCache {
  load(): Promise<DataMessage[] | undefined>;
  save(messages: DataMessage[]): Promise<void>;
}

/** Whether the control plane is reachable over the authenticated connection right now. */
export interface ConnectionState {
  readonly connected: boolean;
}

/** Where decision-log batches go; resolves with the control plane's ack, rejects on timeout. */
export interface LogSink extends ConnectionState {
  sendLogs(batch: LogBatch): Promise<LogBatchAck>;
}

/**
 * The agent's connection to the control plane (socket.io `/agents` in the agent process).
 * Handlers receive messages already checked against the protocol schemas.
 */
export interface ControlPlaneLink extends LogSink {
  onBundle(handler: (message: BundleMessage) => void): void;
  onShadowCleared(handler: (message: ShadowClearedMessage) => void): void;
  onKeys(handler: (jwks: unknown) => void): void;
  /** Grants added and revoked (already checked against grantsMessageSchema). */
  onGrants(handler: (message: GrantsMessage) => void): void;
  onConnectionChange(handler: (connected: boolean) => void): void;
  ackBundle(ack: BundleAck): void;
  rejectBundle(rejected: BundleRejected): void;
  /** Live-data messages (already checked against dataMessageSchema); optional for older links. */
  onData?(handler: (message: DataMessage) => void): void;
  ackData?(ack: DataAck): void;
  /** Asks for what changed since the revision held (a gap in the messages received). */
  resyncData?(request: DataResync): void;
  /** Risk-signal messages (already checked against signalsMessageSchema); optional for older links. */
  onSignals?(handler: (message: SignalsMessage) => void): void;
}
