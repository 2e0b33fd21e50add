import { Injectable } from '@nestjs/common';
import type { FleetView } from '@stepgate/protocol';
import { LiveDataService } from '../live-data/live-data.service.js';
import { AgentsRepository } from './agents.repository.js';
import { STALE_AFTER_MS, staleBefore } from './agents.service.js';
import { LiveRevisionsService } from './live-revisions.service.js';

const BEHIND_LISTED = 20;
const SUSPECT_LISTED = 20;

/** Who enforces what: the fleet against the active revision, and how long it took to get there. */
@Injectable()
export class FleetService {
  constructor(
    private readonly repository: AgentsRepository,
    private readonly revisions: LiveRevisionsService,
    private readonly liveData: LiveDataService,
  ) {}

  async fleet(): Promise<FleetView> {
    const [live, data] = await Promise.all([this.revisions.current(), this.dataFleet()]);
    const target = live.active?.revision ?? null;
    const { total, byRevision, behind, lastAck, suspectRows, suspectConnected } =
      await this.repository.fleet({
        staleBefore: staleBefore(),
        liveRevision: live.revision,
        target,
        activatedAt: live.active?.activatedAt ?? null,
        listed: { behind: BEHIND_LISTED, suspect: SUSPECT_LISTED },
      });
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
      data,
      propagation: {
        activatedAt: activatedAt?.toISOString() ?? null,
        lastAckAt: lastAckAt?.toISOString() ?? null,
        seconds:
          activatedAt && lastAckAt ? (lastAckAt.getTime() - activatedAt.getTime()) / 1000 : null,
      },
    };
  }

  /** Live data: the current data revision and the connected agents that have not acked it. */
  private async dataFleet(): Promise<FleetView['data']> {
    // The snapshot's revision is the one agents are sent (declared documents only).
    const { revision } = await this.liveData.snapshot();
    const behind = await this.repository.dataBehind(staleBefore(), revision, BEHIND_LISTED);
    return { revision, converged: behind.length === 0, behind };
  }
}
