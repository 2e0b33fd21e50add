import { Injectable } from '@nestjs/common';
import type { AgentView, AgentsQuery, BundleAck, BundleRejected } from '@stepgate/protocol';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Agent } from '../generated/prisma/client.js';
import { AgentsRepository, type AckRow } from './agents.repository.js';
import { LiveRevisionsService } from './live-revisions.service.js';
import { isUnknownRevision } from './issued-revisions.js';
import { WriteBatcher } from './write-batcher.js';

/** Each replica refreshes `lastSeenAt` of the agents it holds this often... */
export const HEARTBEAT_MS = 30_000;
/** ...so a "connected" row not refreshed for this long belongs to a replica that died. */
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

/** Connection upserts and disconnects wait this long for company (a burst becomes one statement)... */
const CONNECT_BATCH_MS = 50;
/** ...acks this long (the fleet view lags the agents by at most this much more)... */
const ACK_BATCH_MS = 100;
/** ...and a batch holds at most this many rows. */
const BATCH_ROWS = 500;

interface QueuedAck {
  agentId: string;
  kind: 'active' | 'shadow';
  revision: number;
  at: Date;
}

interface QueuedDisconnect {
  agentId: string;
  connectionId: string;
  at: Date;
}

/**
 * A batch touching rows other statements lock too (the heartbeat, another replica's batch) can
 * lose a deadlock; PostgreSQL aborts one side, which succeeds when simply run again.
 */
async function retryOnce<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!/deadlock|40P01/i.test(String((error as Error)?.message ?? error))) throw error;
    return write();
  }
}

export interface AgentConnection {
  agentId: string;
  /** The agent token it connected with, which is bound to `agentId`. */
  tokenId: string;
  connectionId: string;
  labels: Record<string, string>;
  agentVersion?: string;
  revisions: { active?: number; shadow?: number };
  /** The live-data revision it announced holding (0: none). */
  dataRevision: number;
}

/** Rows last refreshed before this belong to a replica that died (see STALE_AFTER_MS). */
export function staleBefore(now = Date.now()): Date {
  return new Date(now - STALE_AFTER_MS);
}

/** The agent registry in PostgreSQL: who is connected where, holding which revisions. */
@Injectable()
export class AgentsService {
  /** This process, as recorded on the agents it holds. */
  readonly replicaId = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;

  /** Connections, acks and disconnects are written in batches: one statement per batch. */
  private readonly connections = new WriteBatcher<AgentConnection>(
    (batch) => this.writeConnections(batch),
    { delayMs: CONNECT_BATCH_MS, maxItems: BATCH_ROWS },
  );
  private readonly acks = new WriteBatcher<QueuedAck>((batch) => this.writeAcks(batch), {
    delayMs: ACK_BATCH_MS,
    maxItems: BATCH_ROWS,
  });
  private readonly dataAcks = new WriteBatcher<AckRow>((batch) => this.writeDataAcks(batch), {
    delayMs: ACK_BATCH_MS,
    maxItems: BATCH_ROWS,
  });
  private readonly disconnects = new WriteBatcher<QueuedDisconnect>(
    (batch) => this.writeDisconnects(batch),
    { delayMs: CONNECT_BATCH_MS, maxItems: BATCH_ROWS },
  );

  constructor(
    private readonly repository: AgentsRepository,
    private readonly revisions: LiveRevisionsService,
  ) {}

  /**
   * Records a connection and the revisions the agent announced (resolves once written). When
   * the announced active revision differs from the stored one, its ack time is unknown (reset);
   * otherwise kept.
   */
  connected(connection: AgentConnection): Promise<void> {
    return this.connections.add(connection);
  }

  /**
   * Revisions only move forward: a late ack of an older bundle changes nothing but last-seen.
   * Resolves once written (acks are coalesced for up to ACK_BATCH_MS).
   */
  acked(agentId: string, ack: BundleAck): Promise<void> {
    return this.acks.add({ agentId, kind: ack.kind, revision: ack.revision, at: new Date() });
  }

  /** The live-data revision an agent persisted; it only moves forward. Batched like acks. */
  dataAcked(agentId: string, revision: number): Promise<void> {
    return this.dataAcks.add({ agentId, revision, at: new Date() });
  }

  /** Only the connection that is recorded: a reconnect may already have replaced it. */
  disconnected(agentId: string, connectionId: string): Promise<void> {
    return this.disconnects.add({ agentId, connectionId, at: new Date() });
  }

  /** Writes whatever is queued (before shutdown releases this replica's agents). */
  async flush(): Promise<void> {
    await Promise.all([
      this.connections.flush(),
      this.acks.flush(),
      this.dataAcks.flush(),
      this.disconnects.flush(),
    ]);
  }

  private async writeConnections(batch: AgentConnection[]): Promise<void> {
    // One row per agent (ON CONFLICT cannot touch a row twice): the latest connection wins, as
    // it would have written last.
    const rows = [...new Map(batch.map((c) => [c.agentId, c])).values()];
    // Sorted: concurrent batches lock shared rows in the same order (no deadlock).
    rows.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    await retryOnce(() => this.repository.upsertConnections(rows, this.replicaId));
  }

  private async writeAcks(batch: QueuedAck[]): Promise<void> {
    // Per agent and kind, only the highest revision matters (revisions only move forward).
    const latest = new Map<string, QueuedAck>();
    for (const ack of batch) {
      const key = `${ack.kind}:${ack.agentId}`;
      const held = latest.get(key);
      if (!held || held.revision <= ack.revision) latest.set(key, ack);
    }
    const byKind = { active: [] as QueuedAck[], shadow: [] as QueuedAck[] };
    for (const ack of latest.values()) byKind[ack.kind].push(ack);
    for (const acks of Object.values(byKind)) {
      acks.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    }
    const { active, shadow } = byKind;
    if (active.length > 0) await retryOnce(() => this.repository.ackActive(active));
    if (shadow.length > 0) await retryOnce(() => this.repository.ackShadow(shadow));
  }

  private async writeDataAcks(batch: AckRow[]): Promise<void> {
    const latest = new Map<string, AckRow>();
    for (const ack of batch) {
      const held = latest.get(ack.agentId);
      if (!held || held.revision <= ack.revision) latest.set(ack.agentId, ack);
    }
    const rows = [...latest.values()].sort((a, b) =>
      a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0,
    );
    await retryOnce(() => this.repository.ackData(rows));
  }

  private async writeDisconnects(batch: QueuedDisconnect[]): Promise<void> {
    const rows = [...batch].sort((a, b) =>
      a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0,
    );
    await retryOnce(() => this.repository.markDisconnected(rows));
  }

  async rejected(agentId: string, rejected: BundleRejected): Promise<void> {
    await this.repository.recordRejection(
      agentId,
      `${rejected.kind} r${rejected.revision}: ${rejected.reason}`.slice(0, 600),
    );
  }

  async seen(agentId: string): Promise<void> {
    await this.repository.touch(agentId);
  }

  /** Keeps this replica's agents from looking stale. */
  async heartbeat(): Promise<void> {
    await this.repository.heartbeat(this.replicaId);
  }

  /** On shutdown: every agent this replica held is gone from here (it will reconnect elsewhere). */
  async releaseAll(): Promise<void> {
    await this.repository.releaseAll(this.replicaId);
  }

  /** A cleared shadow needs no ack: agents (all, or the one told on connect) simply drop it. */
  async shadowCleared(agentId?: string): Promise<void> {
    await this.repository.clearShadow(agentId);
  }

  async list(query: AgentsQuery): Promise<AgentView[]> {
    const now = Date.now();
    const [rows, live] = await Promise.all([
      this.repository.list(query.status, staleBefore(now), query.limit),
      this.revisions.current(),
    ]);
    return rows.map((row) => agentView(row, live.revision, now));
  }
}

/** `liveRevision`: the control plane's current revision (a reported one past it was never issued). */
export function agentView(row: Agent, liveRevision: number, now = Date.now()): AgentView {
  const live = row.status === 'connected' && row.lastSeenAt.getTime() >= now - STALE_AFTER_MS;
  return {
    id: row.id,
    labels: (row.labels ?? {}) as Record<string, string>,
    status: live ? 'connected' : 'disconnected',
    activeRevision: row.activeRevision,
    shadowRevision: row.shadowRevision,
    dataRevision: row.dataRevision,
    lastSeenAt: row.lastSeenAt.toISOString(),
    lastAckAt: row.lastAckAt?.toISOString() ?? null,
    connectedAt: row.connectedAt?.toISOString() ?? null,
    lastRejection: row.lastRejection,
    agentVersion: row.agentVersion,
    tokenId: row.tokenId,
    suspect:
      isUnknownRevision(row.activeRevision, liveRevision) ||
      isUnknownRevision(row.shadowRevision, liveRevision),
  };
}
