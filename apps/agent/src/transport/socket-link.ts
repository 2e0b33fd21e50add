import type { ControlPlaneLink, LogBuffer, Logger, LogShipper } from '@stepgate/agent-core';
import {
  AGENT_NAMESPACE,
  bundleMessageSchema,
  dataMessageSchema,
  grantsMessageSchema,
  shadowClearedMessageSchema,
  signalsMessageSchema,
  type AgentHandshake,
  type AgentToServerEvents,
  type BundleAck,
  type BundleMessage,
  type BundleRejected,
  type DataAck,
  type DataMessage,
  type DataResync,
  type GrantsMessage,
  type LogBatch,
  type LogBatchAck,
  type ServerToAgentEvents,
  type ShadowClearedMessage,
  type SignalsMessage,
} from '@stepgate/protocol';
import { io, type Socket } from 'socket.io-client';

export interface SocketLinkOptions {
  /** Control-plane base URL; a path prefix (behind a proxy) is kept for the socket.io path. */
  url: string;
  token: string;
  agentId: string;
  labels: Record<string, string>;
  agentVersion: string;
  /** The revisions held right now: read on every (re)connection attempt. */
  revisions: () => AgentHandshake['revisions'];
  /** The live-data revision held right now (0: none): read on every (re)connection attempt. */
  dataRevision?: () => number;
  /** Told about every signals message that fails the schema (counted with the refused ones). */
  onMalformedSignals?: () => void;
  logger: Logger;
  /** CA certificates (PEM) that may sign an https:// control plane's certificate; default Node's. */
  ca?: string[];
  ackTimeoutMs?: number;
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
}

export interface ShippingOptions {
  shipper: LogShipper;
  buffer: LogBuffer;
  intervalMs?: number;
  /** Ship early when this many records are waiting. */
  threshold?: number;
}

type AgentSocket = Socket<ServerToAgentEvents, AgentToServerEvents>;

/**
 * The agent's socket.io connection to `<STEPGATE_URL>/agents`. It authenticates in the
 * handshake (token, id, labels, held revisions), reconnects with jittered exponential
 * backoff — socket.io's own for dropped connections, the same policy by hand when the server
 * refused or closed the connection (socket.io does not retry those) — validates every
 * message against the protocol schemas, and ships decision logs.
 */
export class SocketLink implements ControlPlaneLink {
  private socket: AgentSocket | undefined;
  private isConnected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempts = 0;
  private lastError: string | undefined;
  private shippingTimer: NodeJS.Timeout | undefined;
  private readonly bundleHandlers: ((message: BundleMessage) => void)[] = [];
  private readonly clearedHandlers: ((message: ShadowClearedMessage) => void)[] = [];
  private readonly keysHandlers: ((jwks: unknown) => void)[] = [];
  private readonly grantsHandlers: ((message: GrantsMessage) => void)[] = [];
  private readonly dataHandlers: ((message: DataMessage) => void)[] = [];
  private readonly signalsHandlers: ((message: SignalsMessage) => void)[] = [];
  private readonly connectionHandlers: ((connected: boolean) => void)[] = [];
  private readonly ackTimeoutMs: number;
  private readonly delayMs: number;
  private readonly delayMaxMs: number;

  constructor(private readonly options: SocketLinkOptions) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.delayMs = options.reconnectDelayMs ?? 1000;
    this.delayMaxMs = options.reconnectDelayMaxMs ?? 30_000;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  onBundle(handler: (message: BundleMessage) => void): void {
    this.bundleHandlers.push(handler);
  }

  onShadowCleared(handler: (message: ShadowClearedMessage) => void): void {
    this.clearedHandlers.push(handler);
  }

  onKeys(handler: (jwks: unknown) => void): void {
    this.keysHandlers.push(handler);
  }

  onGrants(handler: (message: GrantsMessage) => void): void {
    this.grantsHandlers.push(handler);
  }

  onConnectionChange(handler: (connected: boolean) => void): void {
    this.connectionHandlers.push(handler);
  }

  onData(handler: (message: DataMessage) => void): void {
    this.dataHandlers.push(handler);
  }

  onSignals(handler: (message: SignalsMessage) => void): void {
    this.signalsHandlers.push(handler);
  }

  connect(): void {
    if (this.socket !== undefined || this.closed) return;
    const base = new URL(this.options.url);
    const socket: AgentSocket = io(`${base.origin}${AGENT_NAMESPACE}`, {
      path: `${base.pathname.replace(/\/+$/, '')}/socket.io`,
      // WebSocket only: no long-polling, so no sticky sessions behind a load balancer.
      transports: ['websocket'],
      auth: (callback) => callback(this.handshake()),
      reconnection: true,
      reconnectionDelay: this.delayMs,
      reconnectionDelayMax: this.delayMaxMs,
      randomizationFactor: 0.5,
      timeout: 10_000,
      autoConnect: false,
      // Passed to the WebSocket's TLS connection; the certificate is always verified.
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      rejectUnauthorized: true,
    });
    this.socket = socket;

    socket.on('connect', () => {
      this.retryAttempts = 0;
      this.lastError = undefined;
      this.setConnected(true);
    });
    socket.on('disconnect', (reason) => {
      this.setConnected(false);
      this.options.logger.warn({ reason }, 'control-plane connection lost');
      // socket.io reconnects by itself except when the server closed the connection.
      if (reason === 'io server disconnect') this.retryLater();
    });
    socket.on('connect_error', (error) => {
      // engine.io says only "websocket error"; the WebSocket's own error (a refused connection,
      // an unverified certificate) is in `description`.
      const cause = (error as { description?: { message?: unknown } }).description?.message;
      const message = typeof cause === 'string' ? `${error.message}: ${cause}` : error.message;
      if (message !== this.lastError) {
        this.options.logger.warn(
          { url: this.options.url, error: message },
          'cannot connect to the control plane',
        );
        this.lastError = message;
      }
      // `active` is false when the server refused the handshake (bad token...): retry by hand.
      if (!socket.active) this.retryLater();
    });

    socket.on('bundle', (message) => {
      const parsed = bundleMessageSchema.safeParse(message);
      if (!parsed.success) {
        this.options.logger.error('malformed bundle message from the control plane');
        const raw = (message ?? {}) as Partial<BundleMessage>;
        this.rejectBundle({
          kind: raw.kind === 'shadow' ? 'shadow' : 'active',
          revision:
            Number.isInteger(raw.revision) && (raw.revision as number) >= 0
              ? (raw.revision as number)
              : 0,
          reason: 'malformed bundle message',
        });
        return;
      }
      for (const handler of this.bundleHandlers) handler(parsed.data);
    });
    socket.on('shadow:cleared', (message) => {
      const parsed = shadowClearedMessageSchema.safeParse(message);
      if (!parsed.success) {
        // Also what an older control plane sends: an unsigned clear, which is never applied.
        this.options.logger.error(
          'malformed or unsigned shadow:cleared message from the control plane; ignored',
        );
        return;
      }
      for (const handler of this.clearedHandlers) handler(parsed.data);
    });
    socket.on('grants', (message) => {
      const parsed = grantsMessageSchema.safeParse(message);
      if (!parsed.success) {
        this.options.logger.error('malformed grants message from the control plane');
        return;
      }
      for (const handler of this.grantsHandlers) handler(parsed.data);
    });
    socket.on('data', (message) => {
      const parsed = dataMessageSchema.safeParse(message);
      if (!parsed.success) {
        this.options.logger.error('malformed live-data message from the control plane; ignored');
        return;
      }
      for (const handler of this.dataHandlers) handler(parsed.data);
    });
    socket.on('signals', (message) => {
      const parsed = signalsMessageSchema.safeParse(message);
      if (!parsed.success) {
        this.options.logger.error('malformed risk-signals message from the control plane; ignored');
        this.options.onMalformedSignals?.();
        return;
      }
      for (const handler of this.signalsHandlers) handler(parsed.data);
    });
    // Checked entry by entry in the trust store: one bad key must not hide the others.
    socket.on('keys', (message) => {
      for (const handler of this.keysHandlers) handler(message);
    });

    socket.connect();
  }

  ackBundle(ack: BundleAck): void {
    // Emitted even while briefly disconnected: socket.io sends it after the reconnect.
    this.socket?.emit('bundle:ack', ack);
  }

  rejectBundle(rejected: BundleRejected): void {
    this.socket?.emit('bundle:rejected', rejected);
  }

  ackData(ack: DataAck): void {
    this.socket?.emit('data:ack', ack);
  }

  resyncData(request: DataResync): void {
    this.socket?.emit('data:resync', request);
  }

  sendLogs(batch: LogBatch): Promise<LogBatchAck> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (socket === undefined || !this.isConnected) {
        reject(new Error('not connected'));
        return;
      }
      socket
        .timeout(this.ackTimeoutMs)
        .emit('logs', batch, (error: Error | null, ack: LogBatchAck) => {
          if (error) reject(error);
          else if (typeof ack !== 'object' || ack === null || typeof ack.ok !== 'boolean')
            reject(new Error('malformed logs ack'));
          else resolve(ack);
        });
    });
  }

  /** Ships decision logs every `intervalMs`, when `threshold` records wait, and on (re)connect. */
  startShipping({ shipper, buffer, intervalMs = 1000, threshold = 500 }: ShippingOptions): void {
    const ship = (): void => {
      void shipper.ship();
    };
    this.shippingTimer = setInterval(ship, intervalMs);
    this.shippingTimer.unref();
    buffer.onThreshold(threshold, () => setImmediate(ship));
    this.onConnectionChange((connected) => {
      if (connected) ship();
    });
  }

  /** Disconnects for good (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.shippingTimer);
    this.socket?.disconnect();
    this.socket?.removeAllListeners();
    if (this.isConnected) this.setConnected(false);
  }

  private handshake(): Omit<AgentHandshake, 'dataRevision'> & { dataRevision?: number } {
    const dataRevision = this.options.dataRevision?.() ?? 0;
    return {
      token: this.options.token,
      agentId: this.options.agentId,
      labels: this.options.labels,
      revisions: this.options.revisions(),
      agentVersion: this.options.agentVersion,
      // Sent only once held, so an agent without live data still connects to a control plane
      // from before live data (whose handshake schema refuses unknown fields).
      ...(dataRevision > 0 ? { dataRevision } : {}),
    };
  }

  private setConnected(connected: boolean): void {
    if (this.isConnected === connected) return;
    this.isConnected = connected;
    for (const handler of this.connectionHandlers) handler(connected);
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const exponential = Math.min(
      this.delayMaxMs,
      this.delayMs * 2 ** Math.min(this.retryAttempts, 16),
    );
    const delay = Math.round(exponential * (0.5 + Math.random()));
    this.retryAttempts++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed && this.socket !== undefined && !this.socket.active) this.socket.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
