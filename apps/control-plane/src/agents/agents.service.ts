import { Injectable } from '@nestjs/common';
import type { AgentView, AgentsQuery, BundleAck, BundleRejected } from '@stepgate/protocol';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PrismaService } from '../database/prisma.service.js';
import type { Agent, Prisma } from '../generated/prisma/client.js';
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
}

/** Where a connected row counts as connected: its replica refreshed it lately. */
export function liveWhere(now = Date.now()): Prisma.AgentWhereInput {
  return { status: 'connected', lastSeenAt: { gte: new Date(now - STALE_AFTER_MS) } };
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
  private readonly disconnects = new WriteBatcher<QueuedDisconnect>(
    (batch) => this.writeDisconnects(batch),
    { delayMs: CONNECT_BATCH_MS, maxItems: BATCH_ROWS },
  );

  constructor(
    private readonly prisma: PrismaService,
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

  /** Only the connection that is recorded: a reconnect may already have replaced it. */
  disconnected(agentId: string, connectionId: string): Promise<void> {
    return this.disconnects.add({ agentId, connectionId, at: new Date() });
  }

  /** Writes whatever is queued (before shutdown releases this replica's agents). */
  async flush(): Promise<void> {
    await Promise.all([this.connections.flush(), this.acks.flush(), this.disconnects.flush()]);
  }

  private async writeConnections(batch: AgentConnection[]): Promise<void> {
    // One row per agent (ON CONFLICT cannot touch a row twice): the latest connection wins, as
    // it would have written last.
    const rows = [...new Map(batch.map((c) => [c.agentId, c])).values()];
    // Sorted: concurrent batches lock shared rows in the same order (no deadlock).
    rows.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    await retryOnce(
      () => this.prisma.$executeRaw`
      INSERT INTO agent (id, labels, agent_version, active_revision, shadow_revision,
                         last_seen_at, connected_at, status, replica, connection_id, token_id)
      SELECT u.id, u.labels::jsonb, u.agent_version, u.active_revision, u.shadow_revision,
             now(), now(), 'connected'::agent_status, ${this.replicaId}, u.connection_id,
             u.token_id
      FROM unnest(${rows.map((c) => c.agentId)}::text[],
                  ${rows.map((c) => JSON.stringify(c.labels))}::text[],
                  ${rows.map((c) => c.agentVersion ?? null)}::text[],
                  ${rows.map((c) => c.revisions.active ?? null)}::int[],
                  ${rows.map((c) => c.revisions.shadow ?? null)}::int[],
                  ${rows.map((c) => c.connectionId)}::text[],
                  ${rows.map((c) => c.tokenId)}::text[])
        WITH ORDINALITY AS u(id, labels, agent_version, active_revision, shadow_revision,
                             connection_id, token_id, n)
      ORDER BY u.n
      ON CONFLICT (id) DO UPDATE SET
        labels = EXCLUDED.labels,
        agent_version = EXCLUDED.agent_version,
        active_ack_at = CASE WHEN agent.active_revision IS NOT DISTINCT FROM EXCLUDED.active_revision
                             THEN agent.active_ack_at END,
        active_revision = EXCLUDED.active_revision,
        shadow_revision = EXCLUDED.shadow_revision,
        last_seen_at = EXCLUDED.last_seen_at,
        connected_at = EXCLUDED.connected_at,
        status = EXCLUDED.status,
        replica = EXCLUDED.replica,
        connection_id = EXCLUDED.connection_id,
        token_id = EXCLUDED.token_id`,
    );
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
    const ids = (acks: QueuedAck[]) => acks.map((a) => a.agentId);
    const revisions = (acks: QueuedAck[]) => acks.map((a) => a.revision);
    const times = (acks: QueuedAck[]) => acks.map((a) => a.at.toISOString());
    const { active, shadow } = byKind;
    if (active.length > 0)
      await retryOnce(
        () => this.prisma.$executeRaw`
        UPDATE agent SET
          active_revision = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                                 THEN u.rev ELSE agent.active_revision END,
          active_ack_at = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                               THEN u.at ELSE agent.active_ack_at END,
          last_ack_at = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                             THEN u.at ELSE agent.last_ack_at END,
          last_seen_at = u.at
        FROM unnest(${ids(active)}::text[], ${revisions(active)}::int[],
                    ${times(active)}::timestamptz[]) AS u(id, rev, at)
        WHERE agent.id = u.id`,
      );
    if (shadow.length > 0)
      await retryOnce(
        () => this.prisma.$executeRaw`
        UPDATE agent SET
          shadow_revision = CASE WHEN agent.shadow_revision IS NULL OR agent.shadow_revision <= u.rev
                                 THEN u.rev ELSE agent.shadow_revision END,
          last_ack_at = CASE WHEN agent.shadow_revision IS NULL OR agent.shadow_revision <= u.rev
                             THEN u.at ELSE agent.last_ack_at END,
          last_seen_at = u.at
        FROM unnest(${ids(shadow)}::text[], ${revisions(shadow)}::int[],
                    ${times(shadow)}::timestamptz[]) AS u(id, rev, at)
        WHERE agent.id = u.id`,
      );
  }

  private async writeDisconnects(batch: QueuedDisconnect[]): Promise<void> {
    const rows = [...batch].sort((a, b) =>
      a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0,
    );
    await retryOnce(
      () => this.prisma.$executeRaw`
      UPDATE agent SET status = 'disconnected'::agent_status, last_seen_at = u.at,
                       connection_id = NULL, replica = NULL
      FROM unnest(${rows.map((d) => d.agentId)}::text[], ${rows.map((d) => d.connectionId)}::text[],
                  ${rows.map((d) => d.at.toISOString())}::timestamptz[]) AS u(id, conn, at)
      WHERE agent.id = u.id AND agent.connection_id = u.conn`,
    );
  }

  async rejected(agentId: string, rejected: BundleRejected): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { id: agentId },
      data: {
        lastRejection: `${rejected.kind} r${rejected.revision}: ${rejected.reason}`.slice(0, 600),
        lastSeenAt: new Date(),
      },
    });
  }

  async seen(agentId: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { id: agentId },
      data: { lastSeenAt: new Date() },
    });
  }

  /** Keeps this replica's agents from looking stale. */
  async heartbeat(): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { replica: this.replicaId, status: 'connected' },
      data: { lastSeenAt: new Date() },
    });
  }

  /** On shutdown: every agent this replica held is gone from here (it will reconnect elsewhere). */
  async releaseAll(): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { replica: this.replicaId, status: 'connected' },
      data: { status: 'disconnected', connectionId: null, replica: null },
    });
  }

  /** A cleared shadow needs no ack: agents (all, or the one told on connect) simply drop it. */
  async shadowCleared(agentId?: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { shadowRevision: { not: null }, ...(agentId ? { id: agentId } : {}) },
      data: { shadowRevision: null },
    });
  }

  async list(query: AgentsQuery): Promise<AgentView[]> {
    const now = Date.now();
    const where: Prisma.AgentWhereInput =
      query.status === 'connected'
        ? liveWhere(now)
        : query.status === 'disconnected'
          ? { NOT: liveWhere(now) }
          : {};
    const [rows, live] = await Promise.all([
      this.prisma.agent.findMany({ where, orderBy: { id: 'asc' }, take: query.limit }),
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
