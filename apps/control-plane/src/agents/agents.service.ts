import { Injectable } from '@nestjs/common';
import type { AgentView, AgentsQuery, BundleAck, BundleRejected } from '@stepgate/protocol';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PrismaService } from '../database/prisma.service.js';
import type { Agent, Prisma } from '../generated/prisma/client.js';

/** Each replica refreshes `lastSeenAt` of the agents it holds this often... */
export const HEARTBEAT_MS = 30_000;
/** ...so a "connected" row not refreshed for this long belongs to a replica that died. */
export const STALE_AFTER_MS = 3 * HEARTBEAT_MS;

export interface AgentConnection {
  agentId: string;
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

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records a connection and the revisions the agent announced. When the announced active
   * revision differs from the stored one, its ack time is unknown (reset); otherwise kept.
   */
  async connected(connection: AgentConnection): Promise<void> {
    const active = connection.revisions.active ?? null;
    const shadow = connection.revisions.shadow ?? null;
    await this.prisma.$executeRaw`
      INSERT INTO agent (id, labels, agent_version, active_revision, shadow_revision,
                         last_seen_at, connected_at, status, replica, connection_id)
      VALUES (${connection.agentId}, ${JSON.stringify(connection.labels)}::jsonb,
              ${connection.agentVersion ?? null}, ${active}, ${shadow}, now(), now(),
              'connected', ${this.replicaId}, ${connection.connectionId})
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
        connection_id = EXCLUDED.connection_id`;
  }

  /** Revisions only move forward: a late ack of an older bundle changes nothing but last-seen. */
  async acked(agentId: string, ack: BundleAck): Promise<void> {
    const now = new Date();
    const moved =
      ack.kind === 'active'
        ? await this.prisma.agent.updateMany({
            where: {
              id: agentId,
              OR: [{ activeRevision: null }, { activeRevision: { lte: ack.revision } }],
            },
            data: {
              activeRevision: ack.revision,
              activeAckAt: now,
              lastAckAt: now,
              lastSeenAt: now,
            },
          })
        : await this.prisma.agent.updateMany({
            where: {
              id: agentId,
              OR: [{ shadowRevision: null }, { shadowRevision: { lte: ack.revision } }],
            },
            data: { shadowRevision: ack.revision, lastAckAt: now, lastSeenAt: now },
          });
    if (moved.count === 0) await this.seen(agentId);
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

  /** Only the connection that is recorded: a reconnect may already have replaced it. */
  async disconnected(agentId: string, connectionId: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { id: agentId, connectionId },
      data: { status: 'disconnected', lastSeenAt: new Date(), connectionId: null, replica: null },
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
    const rows = await this.prisma.agent.findMany({
      where,
      orderBy: { id: 'asc' },
      take: query.limit,
    });
    return rows.map((row) => agentView(row, now));
  }
}

export function agentView(row: Agent, now = Date.now()): AgentView {
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
  };
}
