import { Injectable } from '@nestjs/common';
import type { FleetView } from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';
import { liveWhere, STALE_AFTER_MS } from './agents.service.js';
import { LiveRevisionsService } from './live-revisions.service.js';

const BEHIND_LISTED = 20;
const SUSPECT_LISTED = 20;

/** Who enforces what: the fleet against the active revision, and how long it took to get there. */
@Injectable()
export class FleetService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly revisions: LiveRevisionsService,
  ) {}

  async fleet(): Promise<FleetView> {
    const live = await this.revisions.current();
    const connectedWhere = liveWhere();
    const target = live.active?.revision ?? null;
    const behindWhere =
      target === null
        ? { ...connectedWhere, id: { in: [] as string[] } }
        : {
            ...connectedWhere,
            OR: [{ activeRevision: null }, { activeRevision: { lt: target } }],
          };
    // Past the live revision: never issued here (see issued-revisions.ts).
    const unknownWhere = {
      OR: [{ activeRevision: { gt: live.revision } }, { shadowRevision: { gt: live.revision } }],
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
        take: BEHIND_LISTED,
        select: { id: true, activeRevision: true },
      }),
      live.active
        ? this.prisma.agent.aggregate({
            where: {
              ...connectedWhere,
              activeRevision: { gte: live.active.revision },
              activeAckAt: { gte: live.active.activatedAt },
            },
            _max: { activeAckAt: true },
          })
        : Promise.resolve(null),
      this.prisma.agent.findMany({
        where: unknownWhere,
        orderBy: [{ status: 'asc' }, { lastSeenAt: 'desc' }, { id: 'asc' }],
        take: SUSPECT_LISTED,
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
    const now = Date.now();
    const suspect = suspectRows.flatMap((row) => {
      const status: 'connected' | 'disconnected' =
        row.status === 'connected' && row.lastSeenAt.getTime() >= now - STALE_AFTER_MS
          ? 'connected'
          : 'disconnected';
      return (['active', 'shadow'] as const).flatMap((kind) => {
        const revision = kind === 'active' ? row.activeRevision : row.shadowRevision;
        return revision !== null && revision > live.revision
          ? [{ id: row.id, kind, revision, status }]
          : [];
      });
    });
    const connected = byRevision.reduce((sum, row) => sum + row._count._all, 0);
    const lastAckAt = lastAck?._max.activeAckAt ?? null;
    const activatedAt = live.active?.activatedAt ?? null;
    return {
      revision: live.revision,
      activeRevision: target,
      shadowRevision: live.shadow?.revision ?? null,
      agents: { total, connected },
      byRevision: byRevision.map((row) => ({
        revision: row.activeRevision,
        count: row._count._all,
      })),
      // An agent on a revision never issued here is never converged, whatever its number.
      converged: target !== null && connected > 0 && behind.length === 0 && suspectConnected === 0,
      behind,
      suspect,
      propagation: {
        activatedAt: activatedAt?.toISOString() ?? null,
        lastAckAt: lastAckAt?.toISOString() ?? null,
        seconds:
          activatedAt && lastAckAt ? (lastAckAt.getTime() - activatedAt.getTime()) / 1000 : null,
      },
    };
  }
}
