import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Agent, Prisma } from '../generated/prisma/client.js';
import type { AgentConnection } from './agents.service.js';

/** An ack to write: the revision an agent holds of one kind, and when it said so. */
export interface AckRow {
  agentId: string;
  revision: number;
  at: Date;
}

export interface DisconnectRow {
  agentId: string;
  connectionId: string;
  at: Date;
}

/** Where a connected row counts as connected: its replica refreshed it since `staleBefore`. */
function liveWhere(staleBefore: Date): Prisma.AgentWhereInput {
  return { status: 'connected', lastSeenAt: { gte: staleBefore } };
}

/**
 * The agent registry table. Batched writes are one statement each (rows expanded by
 * PostgreSQL from arrays), in the order the caller sorted them (so batches lock alike).
 */
@Injectable()
export class AgentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records connections (one row per agent) as held by `replica`. */
  async upsertConnections(rows: AgentConnection[], replica: string): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO agent (id, labels, agent_version, active_revision, shadow_revision,
                         last_seen_at, connected_at, status, replica, connection_id, token_id,
                         data_revision)
      SELECT u.id, u.labels::jsonb, u.agent_version, u.active_revision, u.shadow_revision,
             now(), now(), 'connected'::agent_status, ${replica}, u.connection_id,
             u.token_id, u.data_revision
      FROM unnest(${rows.map((c) => c.agentId)}::text[],
                  ${rows.map((c) => JSON.stringify(c.labels))}::text[],
                  ${rows.map((c) => c.agentVersion ?? null)}::text[],
                  ${rows.map((c) => c.revisions.active ?? null)}::int[],
                  ${rows.map((c) => c.revisions.shadow ?? null)}::int[],
                  ${rows.map((c) => c.connectionId)}::text[],
                  ${rows.map((c) => c.tokenId)}::text[],
                  ${rows.map((c) => c.dataRevision)}::int[])
        WITH ORDINALITY AS u(id, labels, agent_version, active_revision, shadow_revision,
                             connection_id, token_id, data_revision, n)
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
        token_id = EXCLUDED.token_id,
        data_revision = EXCLUDED.data_revision`;
  }

  /** Active-bundle acks; a revision older than the stored one only refreshes last-seen. */
  async ackActive(acks: AckRow[]): Promise<void> {
    const { ids, revisions, times } = ackArrays(acks);
    await this.prisma.$executeRaw`
        UPDATE agent SET
          active_revision = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                                 THEN u.rev ELSE agent.active_revision END,
          active_ack_at = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                               THEN u.at ELSE agent.active_ack_at END,
          last_ack_at = CASE WHEN agent.active_revision IS NULL OR agent.active_revision <= u.rev
                             THEN u.at ELSE agent.last_ack_at END,
          last_seen_at = u.at
        FROM unnest(${ids}::text[], ${revisions}::int[],
                    ${times}::timestamptz[]) AS u(id, rev, at)
        WHERE agent.id = u.id`;
  }

  /** Shadow-bundle acks, likewise. */
  async ackShadow(acks: AckRow[]): Promise<void> {
    const { ids, revisions, times } = ackArrays(acks);
    await this.prisma.$executeRaw`
        UPDATE agent SET
          shadow_revision = CASE WHEN agent.shadow_revision IS NULL OR agent.shadow_revision <= u.rev
                                 THEN u.rev ELSE agent.shadow_revision END,
          last_ack_at = CASE WHEN agent.shadow_revision IS NULL OR agent.shadow_revision <= u.rev
                             THEN u.at ELSE agent.last_ack_at END,
          last_seen_at = u.at
        FROM unnest(${ids}::text[], ${revisions}::int[],
                    ${times}::timestamptz[]) AS u(id, rev, at)
        WHERE agent.id = u.id`;
  }

  /** Live-data acks: the revision an agent persisted, never moving back. */
  async ackData(acks: AckRow[]): Promise<void> {
    const { ids, revisions, times } = ackArrays(acks);
    await this.prisma.$executeRaw`
        UPDATE agent SET data_revision = GREATEST(agent.data_revision, u.rev), last_seen_at = u.at
        FROM unnest(${ids}::text[], ${revisions}::int[],
                    ${times}::timestamptz[]) AS u(id, rev, at)
        WHERE agent.id = u.id`;
  }

  /** Disconnects, each only if its connection is still the recorded one. */
  async markDisconnected(rows: DisconnectRow[]): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE agent SET status = 'disconnected'::agent_status, last_seen_at = u.at,
                       connection_id = NULL, replica = NULL
      FROM unnest(${rows.map((d) => d.agentId)}::text[], ${rows.map((d) => d.connectionId)}::text[],
                  ${rows.map((d) => d.at.toISOString())}::timestamptz[]) AS u(id, conn, at)
      WHERE agent.id = u.id AND agent.connection_id = u.conn`;
  }

  async recordRejection(agentId: string, rejection: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { id: agentId },
      data: { lastRejection: rejection, lastSeenAt: new Date() },
    });
  }

  async touch(agentId: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { id: agentId },
      data: { lastSeenAt: new Date() },
    });
  }

  /** Refreshes last-seen of every agent `replica` holds. */
  async heartbeat(replica: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { replica, status: 'connected' },
      data: { lastSeenAt: new Date() },
    });
  }

  /** Every agent `replica` held is disconnected (it shuts down). */
  async releaseAll(replica: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { replica, status: 'connected' },
      data: { status: 'disconnected', connectionId: null, replica: null },
    });
  }

  /** Forgets the shadow revision of every agent, or of one. */
  async clearShadow(agentId?: string): Promise<void> {
    await this.prisma.agent.updateMany({
      where: { shadowRevision: { not: null }, ...(agentId ? { id: agentId } : {}) },
      data: { shadowRevision: null },
    });
  }

  list(
    status: 'connected' | 'disconnected' | undefined,
    staleBefore: Date,
    limit: number,
  ): Promise<Agent[]> {
    const where: Prisma.AgentWhereInput =
      status === 'connected'
        ? liveWhere(staleBefore)
        : status === 'disconnected'
          ? { NOT: liveWhere(staleBefore) }
          : {};
    return this.prisma.agent.findMany({ where, orderBy: { id: 'asc' }, take: limit });
  }

  /** Connected agents that have not acked live-data `revision`, lowest first. */
  dataBehind(staleBefore: Date, revision: number, listed: number) {
    return this.prisma.agent.findMany({
      where: { ...liveWhere(staleBefore), dataRevision: { lt: revision } },
      orderBy: [{ dataRevision: 'asc' }, { id: 'asc' }],
      take: listed,
      select: { id: true, dataRevision: true },
    });
  }

  /**
   * The fleet against the live revisions: totals, connected agents by active revision, those
   * behind `target`, the last ack of the active version since it was activated, and agents
   * reporting revisions past `liveRevision` (never issued here).
   */
  async fleet(query: {
    staleBefore: Date;
    liveRevision: number;
    target: number | null;
    activatedAt: Date | null;
    listed: { behind: number; suspect: number };
  }) {
    const connectedWhere = liveWhere(query.staleBefore);
    const { target, activatedAt } = query;
    const behindWhere =
      target === null
        ? { ...connectedWhere, id: { in: [] as string[] } }
        : {
            ...connectedWhere,
            OR: [{ activeRevision: null }, { activeRevision: { lt: target } }],
          };
    // Past the live revision: never issued here (see issued-revisions.ts).
    const unknownWhere = {
      OR: [
        { activeRevision: { gt: query.liveRevision } },
        { shadowRevision: { gt: query.liveRevision } },
      ],
    };
    const [total, byRevision, behind, lastAck, suspectRows, suspectConnected] = await Promise.all([
      this.prisma.agent.count(),
      this.prisma.agent.groupBy({
        by: ['activeRevision'],
        where: connectedWhere,
        _count: { _all: true },
        orderBy: { activeRevision: 'desc' },
      }),
      this.prisma.agent.findMany({
        where: behindWhere,
        orderBy: [{ activeRevision: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
        take: query.listed.behind,
        select: { id: true, activeRevision: true },
      }),
      target !== null && activatedAt
        ? this.prisma.agent.aggregate({
            where: {
              ...connectedWhere,
              activeRevision: { gte: target },
              activeAckAt: { gte: activatedAt },
            },
            _max: { activeAckAt: true },
          })
        : Promise.resolve(null),
      this.prisma.agent.findMany({
        where: unknownWhere,
        orderBy: [{ status: 'asc' }, { lastSeenAt: 'desc' }, { id: 'asc' }],
        take: query.listed.suspect,
        select: {
          id: true,
          activeRevision: true,
          shadowRevision: true,
          status: true,
          lastSeenAt: true,
        },
      }),
      this.prisma.agent.count({ where: { AND: [connectedWhere, unknownWhere] } }),
    ]);
    return { total, byRevision, behind, lastAck, suspectRows, suspectConnected };
  }
}

function ackArrays(acks: AckRow[]) {
  return {
    ids: acks.map((a) => a.agentId),
    revisions: acks.map((a) => a.revision),
    times: acks.map((a) => a.at.toISOString()),
  };
}
