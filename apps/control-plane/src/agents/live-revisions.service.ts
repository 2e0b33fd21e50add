import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { LiveRevisions } from './catch-up.js';
import { FreshRead } from './fresh-read.js';

/**
 * Reads the revisions agents should hold. Agents connecting in a burst share one read, but only
 * a read that started after they connected: an older one could predate a change whose broadcast
 * they missed.
 */
@Injectable()
export class LiveRevisionsService {
  private readonly shared = new FreshRead(() => this.read());

  constructor(private readonly prisma: PrismaService) {}

  /**
   * `notBefore`: a `performance.now()` taken when the caller's socket had connected;
   * `gatherMs`: how long the read may wait for other callers to share it (see FreshRead).
   */
  current(notBefore = performance.now(), gatherMs = 0): Promise<LiveRevisions> {
    return this.shared.get(notBefore, gatherMs);
  }

  private async read(): Promise<LiveRevisions> {
    const [state, lastActive, lastShadow] = await Promise.all([
      this.prisma.activeState.findUnique({ where: { id: 1 } }),
      this.prisma.activation.findFirst({
        where: { kind: { in: ['activate', 'rollback'] } },
        orderBy: { revision: 'desc' },
      }),
      this.prisma.activation.findFirst({
        where: { kind: { in: ['shadow_set', 'shadow_clear'] } },
        orderBy: { revision: 'desc' },
      }),
    ]);
    const revision = state?.revision ?? 0;
    return {
      revision,
      active: state?.activeVersionId
        ? {
            revision: lastActive?.revision ?? revision,
            versionId: state.activeVersionId,
            activatedAt: lastActive?.createdAt ?? state.updatedAt,
          }
        : null,
      shadow: state?.shadowVersionId
        ? { revision: lastShadow?.revision ?? revision, versionId: state.shadowVersionId }
        : null,
      shadowChangedAt: lastShadow?.revision ?? null,
    };
  }
}
