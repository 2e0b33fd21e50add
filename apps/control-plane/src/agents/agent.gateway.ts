import { Inject, type OnModuleDestroy } from '@nestjs/common';
import {
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import {
  AGENT_NAMESPACE,
  bundleAckSchema,
  bundleRejectedSchema,
  dataAckSchema,
  dataResyncSchema,
  signDataMessage,
  signGrantsMessage,
  signShadowCleared,
  StepgateError,
  type AgentToServerEvents,
  type DataMessage,
  type GrantsMessage,
  type KeysMessage,
  type LogBatchAck,
  type ServerToAgentEvents,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { Public } from '../common/scopes.js';
import { BundleService, type SignedBundle } from '../bundles/bundle.service.js';
import { SigningKeyService } from '../bundles/signing-key.service.js';
import { DecisionLogIntakeService } from '../decisions/decision-log-intake.service.js';
import { GrantEvents } from '../grants/grant-events.js';
import { GrantsService } from '../grants/grants.service.js';
import { LiveDataEvents, type LiveDataChanged } from '../live-data/live-data.events.js';
import { LiveDataService, type LiveDataSnapshot } from '../live-data/live-data.service.js';
import { LiveStateEvents, type LiveStateChange } from '../live-state/live-state.events.js';
import { LOGGER } from '../logging/logger.js';
import { SignalsPush } from '../signals/signals-push.js';
import { authenticateHandshake } from './agent-handshake.js';
import { AgentIdentityService } from './agent-identity.service.js';
import { AgentMetrics } from './agent.metrics.js';
import { AgentsService, HEARTBEAT_MS } from './agents.service.js';
import { catchUp, type LiveRevisions } from './catch-up.js';
import { FreshRead } from '../common/fresh-read.js';
import { LiveRevisionsService } from './live-revisions.service.js';
import { UnknownRevisionsService } from './unknown-revisions.service.js';

/** What the gateway keeps on each authenticated socket. */
interface AgentSocketData {
  agentId: string;
  /** The agent token it connected with (bound to `agentId`). */
  tokenId: string;
  labels: Record<string, string>;
  revisions: { active?: number; shadow?: number };
  /** The live-data revision the agent announced holding (0: none). */
  dataRevision: number;
  agentVersion?: string;
  /** `performance.now()` once the socket joined the namespace (see LiveRevisionsService). */
  joinedAt: number;
}

/** Between control-plane replicas (through the Redis adapter). */
interface ReplicaEvents {
  /** An agent token was revoked: forget it now rather than when its cache entry expires. */
  'token:revoked': (tokenId: string) => void;
}
export type AgentNamespace = Namespace<
  AgentToServerEvents,
  ServerToAgentEvents,
  ReplicaEvents,
  AgentSocketData
>;
export type AgentSocket = Socket<
  AgentToServerEvents,
  ServerToAgentEvents,
  ReplicaEvents,
  AgentSocketData
>;

/** Every socket of one agent token is in this room, so a revocation can close them all. */
const tokenRoom = (tokenId: string) => `token:${tokenId}`;

/**
 * How long a connection's reads (keys, revisions, grants, bundle) wait for other connections to
 * share them, so a steady stream of connections costs a few reads a second instead of several
 * per connection.
 */
const GATHER_READS_MS = 25;

/** Decision-log batches are up to 1,000 records; socket.io's default limit is 1 MB. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * The one socket.io gateway for agents (`/agents`). Authenticates the handshake before the
 * socket joins, sends a connecting agent only what it lacks, pushes every live-state change to
 * all agents (through the Redis adapter, so agents on other replicas get it too), and records
 * acks, rejections and decision-log batches.
 */
@WebSocketGateway({ namespace: AGENT_NAMESPACE, maxHttpBufferSize: MAX_MESSAGE_BYTES })
// Sockets are authenticated once, at the handshake (afterInit); the global HTTP AuthGuard, which
// reads an Authorization header per request, must not run on every socket message.
@Public()
export class AgentGateway
  implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy
{
  @WebSocketServer() private server!: AgentNamespace;

  private unsubscribe?: () => void;
  private unsubscribeGrants?: () => void;
  private unsubscribeRevocations?: () => void;
  private unsubscribeData?: () => void;
  private unsubscribeSignals?: () => void;
  /** Live-data changes are pushed one at a time, each covering every revision up to it. */
  private dataPushes: Promise<void> = Promise.resolve();
  private pushedData = 0;
  /** The signed snapshot of the last data revision read, shared by every connection needing it. */
  private signedSnapshot?: { revision: number; message: Promise<DataMessage> };
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  /** Changes are pushed one at a time, and never a revision already pushed from here. */
  private pushing: Promise<void> = Promise.resolve();
  private readonly pushed = { active: 0, shadow: 0 };
  /** Grant changes are signed, then pushed, in the order they happened. */
  private grantPushes: Promise<void> = Promise.resolve();
  /**
   * What every connecting agent receives, read once for all agents that connected before the
   * read started (see FreshRead): a burst of N connections costs a few reads, not N.
   */
  private readonly shared = {
    keys: new FreshRead(() => this.publicKeys()),
    grants: new FreshRead(() => this.fullGrants()),
    active: new FreshRead(() => this.bundles.current('active')),
    shadow: new FreshRead(() => this.bundles.current('shadow')),
    data: new FreshRead(() => this.liveData.snapshot()),
  };

  constructor(
    private readonly identity: AgentIdentityService,
    private readonly unknownRevisions: UnknownRevisionsService,
    private readonly agents: AgentsService,
    private readonly revisions: LiveRevisionsService,
    private readonly bundles: BundleService,
    private readonly keys: SigningKeyService,
    private readonly logs: DecisionLogIntakeService,
    private readonly metrics: AgentMetrics,
    private readonly events: LiveStateEvents,
    private readonly grants: GrantsService,
    private readonly grantEvents: GrantEvents,
    private readonly liveData: LiveDataService,
    private readonly liveDataEvents: LiveDataEvents,
    private readonly signals: SignalsPush,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  afterInit(server: AgentNamespace): void {
    // Middleware runs before the socket joins: a refused agent never receives an event.
    server.use((socket, next) => {
      void this.admit(socket).then(
        () => next(),
        (error: Error) => next(error),
      );
    });
    this.unsubscribe = this.events.onChange((change) => {
      this.pushing = this.pushing.then(() => this.push(change));
    });
    // Through the namespace, so the Redis adapter carries it to agents on every replica.
    // Removals are signed: agents refuse an unsigned revocation (a rogue could strip grants).
    this.unsubscribeGrants = this.grantEvents.onChange((change) => {
      this.grantPushes = this.grantPushes
        .then(async () => {
          this.server.emit('grants', await signGrantsMessage(change, this.keys.current()));
        })
        .catch((error: unknown) => this.warn('could not push a grants change to agents', error));
    });
    // A revoked agent token's sessions end on every replica (the adapter carries both), and
    // every replica forgets it at once: a stolen token stops acting as its agent, and the
    // agent id can move to a new token (rotation).
    this.unsubscribeRevocations = this.identity.onRevoke((tokenId) => {
      this.server.in(tokenRoom(tokenId)).disconnectSockets(true);
      this.server.serverSideEmit('token:revoked', tokenId);
    });
    server.on('token:revoked', (tokenId: string) => this.identity.forget(tokenId));
    // Like bundles: emitted on the replica that committed the write, through the namespace, so
    // the Redis adapter carries it to agents on every replica.
    this.unsubscribeData = this.liveDataEvents.onChanged((change) => {
      this.dataPushes = this.dataPushes.then(() => this.pushData(change));
    });
    // Changed risk-signal values, batched and signed; through the namespace like live data.
    this.unsubscribeSignals = this.signals.start((message) => this.server.emit('signals', message));
    this.heartbeat = setInterval(() => {
      this.agents.heartbeat().catch((error: unknown) => this.warn('agent heartbeat failed', error));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /**
   * Authenticates the handshake, then records the connection, all before the socket joins:
   * until its row is written the agent receives nothing (not even a broadcast), so it cannot
   * ack anything the row would then overwrite. Rejects with the error the agent receives.
   */
  private async admit(socket: AgentSocket): Promise<void> {
    const result = await authenticateHandshake(socket.handshake.auth, this.identity);
    if (!result.ok) {
      this.metrics.refused.inc({ code: result.code });
      const address = socket.handshake.address;
      this.logger.warn(
        { agentId: result.agentId, address, code: result.code },
        `agent connection refused: ${result.message}`,
      );
      if (result.identity)
        await this.identity
          .refused(result.identity.credential, result.identity.refusal, address)
          .catch((error: unknown) => this.warn('could not audit a refused agent identity', error));
      // `reason` tells an agent refused for its identity why (e.g. `outside_prefix`).
      throw Object.assign(new Error(result.message), {
        data: { code: result.code, ...(result.reason ? { reason: result.reason } : {}) },
      });
    }
    // The token is not needed past this point: do not keep a secret on every socket.
    delete (socket.handshake.auth as { token?: unknown }).token;
    const { agentId, labels, revisions, agentVersion, dataRevision } = result.handshake;
    const { tokenId } = result.credential.principal;
    socket.data = { agentId, tokenId, labels, revisions, dataRevision, joinedAt: 0 };
    if (agentVersion) socket.data.agentVersion = agentVersion;
    try {
      await this.agents.connected({
        agentId,
        tokenId,
        connectionId: socket.id,
        labels,
        revisions,
        dataRevision,
        ...(agentVersion ? { agentVersion } : {}),
      });
    } catch (error) {
      this.warn('could not record an agent connection; refusing it so it retries', error, {
        agentId,
      });
      const code = 'service/unavailable';
      this.metrics.refused.inc({ code });
      throw Object.assign(new Error('cannot record the connection now; retry'), { data: { code } });
    }
    if (socket.conn.readyState !== 'open') {
      // It left while the row was written: socket.io drops it without a disconnect event.
      await this.agents.disconnected(agentId, socket.id).catch(() => undefined);
      throw new Error('connection closed');
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    this.unsubscribeGrants?.();
    this.unsubscribeRevocations?.();
    this.unsubscribeData?.();
    this.unsubscribeSignals?.();
    clearInterval(this.heartbeat);
    // Queued acks and connections first, so releasing this replica's agents comes last.
    await this.agents.flush().catch(() => undefined);
    await this.agents.releaseAll().catch(() => undefined);
  }

  async handleConnection(socket: AgentSocket): Promise<void> {
    const joinedAt = performance.now();
    socket.data.joinedAt = joinedAt;
    this.listen(socket);
    void socket.join(tokenRoom(socket.data.tokenId));
    const { agentId } = socket.data;
    this.metrics.connected.inc();
    // The row is written (see admit); the reads are shared with other connections (`shared`).
    const keys = this.shared.keys.get(joinedAt, GATHER_READS_MS);
    const live = this.revisions.current(joinedAt, GATHER_READS_MS);
    const grants = this.shared.grants.get(joinedAt, GATHER_READS_MS);
    for (const read of [keys, live, grants]) read.catch(() => undefined);
    void live.then(
      (revisions) => this.checkAnnounced(socket, revisions),
      () => undefined,
    );
    try {
      socket.emit('keys', await keys);
      await this.sendMissing(socket, await live);
      // The full set replaces whatever the agent held, so grants revoked while it was away go.
      socket.emit('grants', await grants);
      // After the bundle: the documents it declares are the ones sent.
      await this.sendData(socket, socket.data.dataRevision);
      // Every current risk-signal value (never throws: values expire on the agent anyway).
      await this.signals.sendSnapshot((message) => socket.emit('signals', message), joinedAt);
      this.metrics.catchUps.inc({ result: 'ok' });
    } catch (error) {
      this.metrics.catchUps.inc({ result: 'failed' });
      // Without its catch-up the agent would silently miss a revision: let it reconnect.
      this.warn('agent catch-up failed; disconnecting it so it retries', error, { agentId });
      socket.disconnect(true);
    }
  }

  async handleDisconnect(socket: AgentSocket): Promise<void> {
    this.metrics.connected.dec();
    const agentId = socket.data?.agentId;
    if (!agentId || this.closing) return;
    await this.agents
      .disconnected(agentId, socket.id)
      .catch((error: unknown) => this.warn('could not record a disconnect', error, { agentId }));
  }

  /**
   * Plain socket.io listeners rather than Nest's @SubscribeMessage: Nest builds an rxjs pipeline
   * per handler per socket (and runs every message through it), a cost that at 10,000 agents
   * showed as the largest share of the gateway's CPU and of its memory per socket. Registered
   * before the first await of the connection, so no early message is missed.
   */
  private listen(socket: AgentSocket): void {
    socket.on('bundle:ack', (body: unknown) => void this.onAck(socket, body));
    socket.on('bundle:rejected', (body: unknown) => void this.onRejected(socket, body));
    socket.on('data:ack', (body: unknown) => void this.onDataAck(socket, body));
    socket.on('data:resync', (body: unknown) => void this.onDataResync(socket, body));
    socket.on('logs', (body: unknown, ack?: unknown) => {
      this.onLogs(socket, body).then(
        (reply) => {
          if (typeof ack === 'function') (ack as (reply: LogBatchAck) => void)(reply);
        },
        // Unacknowledged, the agent keeps the batch and sends it again.
        (error: unknown) =>
          this.warn('could not receive a log batch', error, { agentId: socket.data.agentId }),
      );
    });
  }

  private async onAck(socket: AgentSocket, body: unknown): Promise<void> {
    const ack = bundleAckSchema.safeParse(body);
    if (!ack.success) return this.badMessage(socket, 'bundle:ack', ack.error.issues[0]?.message);
    this.metrics.acks.inc({ kind: ack.data.kind });
    const { agentId } = socket.data;
    const { kind, revision } = ack.data;
    // Recorded as acked either way (it is what the agent says it enforces); flagged if unknown.
    await Promise.all([
      this.agents
        .acked(agentId, ack.data)
        .catch((error: unknown) => this.warn('could not record an ack', error)),
      this.unknownRevisions
        .check({ agentId, kind, revision, via: 'ack' })
        .catch((error: unknown) => this.warn('could not check an acked revision', error)),
    ]);
  }

  private async onDataAck(socket: AgentSocket, body: unknown): Promise<void> {
    const ack = dataAckSchema.safeParse(body);
    if (!ack.success) return this.badMessage(socket, 'data:ack', ack.error.issues[0]?.message);
    await this.agents
      .dataAcked(socket.data.agentId, ack.data.revision)
      .catch((error: unknown) => this.warn('could not record a live-data ack', error));
  }

  /** The agent saw a gap: it gets what changed since the revision it holds. */
  private async onDataResync(socket: AgentSocket, body: unknown): Promise<void> {
    const request = dataResyncSchema.safeParse(body);
    if (!request.success)
      return this.badMessage(socket, 'data:resync', request.error.issues[0]?.message);
    await this.sendData(socket, request.data.revision).catch((error: unknown) =>
      this.warn('could not resend live data', error, { agentId: socket.data.agentId }),
    );
  }

  /**
   * Sends an agent holding `held` what it lacks: the documents changed since (a delta), or all
   * of them (a snapshot, `fromRevision` 0) when it holds none or a revision never issued here.
   */
  private async sendData(socket: AgentSocket, held: number): Promise<void> {
    const changes = held === 0 ? 'too_old' : await this.liveData.changesSince(held);
    if (changes === 'too_old') {
      const snapshot = await this.shared.data.get(socket.data.joinedAt, GATHER_READS_MS);
      if (snapshot.revision === 0) return;
      socket.emit('data', await this.signedSnapshotOf(snapshot));
      return;
    }
    if (changes.revision <= held) return;
    socket.emit('data', await this.signData(held, changes));
  }

  /** Pushes the documents changed since the last push to every agent, on every replica. */
  private async pushData(change: LiveDataChanged): Promise<void> {
    try {
      if (change.revision <= this.pushedData) return;
      const from = Math.max(this.pushedData, change.revision - 1);
      const changes = await this.liveData.changesSince(from);
      if (changes === 'too_old' || changes.revision <= from) return;
      this.server.emit('data', await this.signData(from, changes));
      this.pushedData = changes.revision;
      this.logger.info(
        { dataRevision: changes.revision, names: Object.keys(changes.documents) },
        'pushed live data to agents',
      );
    } catch (error) {
      // Agents catch up by revision on their next connection (or resync on the next push).
      this.warn('could not push live data to agents', error, { dataRevision: change.revision });
    }
  }

  private signedSnapshotOf(snapshot: LiveDataSnapshot): Promise<DataMessage> {
    if (this.signedSnapshot?.revision !== snapshot.revision)
      this.signedSnapshot = {
        revision: snapshot.revision,
        message: this.signData(0, snapshot),
      };
    const { message } = this.signedSnapshot;
    // A failed signature is not kept for the next connection.
    message.catch(() => {
      if (this.signedSnapshot?.message === message) this.signedSnapshot = undefined;
    });
    return message;
  }

  private async signData(fromRevision: number, changes: LiveDataSnapshot): Promise<DataMessage> {
    const live = await this.revisions.current();
    return signDataMessage(
      {
        fromRevision,
        revision: changes.revision,
        documents: changes.documents,
        bundleRevision: live.active?.revision ?? 0,
      },
      this.keys.current(),
    );
  }

  /** Flags revisions the agent announced holding that this control plane never issued. */
  private async checkAnnounced(socket: AgentSocket, live: LiveRevisions): Promise<void> {
    const { agentId, revisions } = socket.data;
    // Every connection's read keeps the highest known revision fresh, so acks cost no read.
    this.unknownRevisions.observe(live);
    for (const kind of ['active', 'shadow'] as const) {
      const revision = revisions[kind];
      if (revision === undefined) continue;
      await this.unknownRevisions
        .check({ agentId, kind, revision, via: 'handshake' }, live)
        .catch((error: unknown) => this.warn('could not check an announced revision', error));
    }
  }

  private async onRejected(socket: AgentSocket, body: unknown): Promise<void> {
    const rejected = bundleRejectedSchema.safeParse(body);
    if (!rejected.success)
      return this.badMessage(socket, 'bundle:rejected', rejected.error.issues[0]?.message);
    this.metrics.rejections.inc({ kind: rejected.data.kind });
    this.logger.warn({ agentId: socket.data.agentId, ...rejected.data }, 'agent refused a bundle');
    await this.agents
      .rejected(socket.data.agentId, rejected.data)
      .catch((error: unknown) => this.warn('could not record a rejection', error));
  }

  /** The return value is the socket.io ack: `ok` only once the batch is safely queued. */
  private async onLogs(socket: AgentSocket, body: unknown): Promise<LogBatchAck> {
    return this.logs.receive(socket.data.agentId, body);
  }

  /** Pushes a live-state change to every agent, on every replica. */
  private async push(change: LiveStateChange): Promise<void> {
    try {
      if (change.kind === 'shadow_clear') {
        this.server.emit(
          'shadow:cleared',
          await signShadowCleared(change.revision, this.keys.current()),
        );
        this.metrics.bundlesSent.inc({ kind: 'shadow_cleared', via: 'broadcast' });
        await this.agents.shadowCleared();
        return;
      }
      const kind = change.kind === 'shadow_set' ? 'shadow' : 'active';
      if (change.revision <= this.pushed[kind]) return;
      // The change carries its version, revision and rollback flag: no read of the live state.
      const bundle = await this.bundles.forChange({ ...change, kind: change.kind });
      // Keys first: a replica started with a rotated key signs with a kid agents may not know.
      this.server.emit('keys', await this.publicKeys());
      this.server.emit('bundle', { kind, revision: bundle.revision, jws: bundle.jws });
      this.pushed[kind] = bundle.revision;
      this.metrics.bundlesSent.inc({ kind, via: 'broadcast' });
      this.logger.info({ kind, revision: bundle.revision }, 'pushed a bundle to agents');
    } catch (error) {
      // Agents still catch up by revision on their next connection.
      this.warn('could not push a live-state change to agents', error, { ...change });
    }
  }

  private async sendMissing(socket: AgentSocket, live: LiveRevisions): Promise<void> {
    // A held revision past the live one is flagged by checkAnnounced (UnknownRevisionsService).
    const held = socket.data.revisions;
    const plan = catchUp(held, live);
    if (plan.active) await this.sendBundle(socket, 'active');
    if (plan.shadow === 'send') await this.sendBundle(socket, 'shadow');
    if (plan.shadow === 'clear') {
      const clearedAt = live.shadowChangedAt ?? live.revision;
      socket.emit('shadow:cleared', await signShadowCleared(clearedAt, this.keys.current()));
      this.metrics.bundlesSent.inc({ kind: 'shadow_cleared', via: 'connect' });
      await this.agents.shadowCleared(socket.data.agentId);
    }
  }

  private async sendBundle(socket: AgentSocket, kind: 'active' | 'shadow'): Promise<void> {
    try {
      const bundle: SignedBundle = await this.shared[kind].get(
        socket.data.joinedAt,
        GATHER_READS_MS,
      );
      socket.emit('bundle', { kind, revision: bundle.revision, jws: bundle.jws });
      this.metrics.bundlesSent.inc({ kind, via: 'connect' });
    } catch (error) {
      // Changed meanwhile (e.g. the shadow was just cleared): the broadcast of that change follows.
      if (error instanceof StepgateError && error.code === 'bundle/not_found') return;
      throw error;
    }
  }

  /** The public keys and the endorsements agents walk to accept a rotated key. */
  private async publicKeys(): Promise<KeysMessage> {
    const published = await this.keys.publicKeys();
    return {
      keys: published.keys as unknown as Record<string, unknown>[],
      endorsements: published.endorsements,
    };
  }

  /** The full grant set for connecting agents; its removals signed as of before the read. */
  private async fullGrants(): Promise<GrantsMessage> {
    const readAt = new Date();
    const grants = await this.grants.currentJws();
    return signGrantsMessage({ full: true, grants, revoked: [] }, this.keys.current(), readAt);
  }

  private badMessage(socket: AgentSocket, event: string, issue: string | undefined): void {
    this.logger.warn(
      { agentId: socket.data.agentId, event, issue },
      'agent sent a malformed message; ignored',
    );
  }

  private warn(message: string, error: unknown, extra: Record<string, unknown> = {}): void {
    this.logger.warn({ ...extra, error: (error as Error)?.message ?? String(error) }, message);
  }
}
