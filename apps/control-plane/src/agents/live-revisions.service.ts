import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { LiveRevisions } from './catch-up.js';

/**
 * Reads the revisions agents should hold. Agents connecting in a burst share one read, but only
 * a read that started after they connected: an older one could predate a change whose broadcast
 * they missed.
 */
@Injectable()
export class LiveRevisionsService {
  private inflight?: { startedAt: number; promise: Promise<LiveRevisions> };

  constructor(private readonly prisma: PrismaService) {}

  /** `notBefore`: a `performance.now()` taken when the caller's socket had connected. */
  current(notBefore = performance.now()): Promise<LiveRevisions> {
    const inflight = this.inflight;
    if (inflight && inflight.startedAt >= notBefore) return inflight.promise;
    const startedAt = performance.now();
    const promise = this.read().finally(() => {
      if (this.inflight?.promise === promise) this.inflight = undefined;
    });
    this.inflight = { startedAt, promise };
    return promise;
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
