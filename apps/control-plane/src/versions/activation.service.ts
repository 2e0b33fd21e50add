import { Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { LiveStateEvents } from '../bundles/live-state.events.js';
import { PrismaService } from '../database/prisma.service.js';
import { VersionsService } from './versions.service.js';

type Kind = 'activate' | 'rollback' | 'shadow_set' | 'shadow_clear';

export interface ChangeResult {
  revision: number;
  fromVersionId: string | null;
  toVersionId: string | null;
  changed: boolean;
}

/**
 * Decides which version is live. Every change bumps the monotonic revision in the same
 * transaction that writes the Activation and the audit row, so agents never see a change
 * without a newer revision and no change goes unaudited. Needs only the database: rollback
 * works with every Git remote down.
 */
@Injectable()
export class ActivationService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly versions: VersionsService,
    private readonly audit: AuditService,
    private readonly events: LiveStateEvents,
  ) {}

  async activate(ref: string, actor: string, reason?: string): Promise<ChangeResult> {
    const version = await this.versions.resolve(ref);
    this.assertReady(version);
    return this.change('activate', version.id, actor, reason);
  }

  /** Back to `to`, or to the version that was active before the current one. */
  async rollback(actor: string, reason: string, to?: string): Promise<ChangeResult> {
    let targetId: string;
    if (to) {
      const version = await this.versions.resolve(to);
      this.assertReady(version);
      targetId = version.id;
    } else {
      const live = await this.versions.liveState();
      const history = await this.prisma.activation.findMany({
        where: { kind: { in: ['activate', 'rollback'] } },
        orderBy: { revision: 'desc' },
        take: 200,
      });
      const previous = history.find(
        (row) => row.toVersionId && row.toVersionId !== live.activeVersionId,
      );
      if (!previous?.toVersionId)
        throw new StepgateError(
          'version/not_found',
          'there is no earlier active version to roll back to',
        );
      targetId = previous.toVersionId;
    }
    return this.change('rollback', targetId, actor, reason);
  }

  async setShadow(ref: string, actor: string, reason?: string): Promise<ChangeResult> {
    const version = await this.versions.resolve(ref);
    this.assertReady(version);
    return this.change('shadow_set', version.id, actor, reason);
  }

  async clearShadow(actor: string, reason?: string): Promise<ChangeResult> {
    return this.change('shadow_clear', null, actor, reason);
  }

  private assertReady(version: { status: string; number: number }): void {
    if (version.status !== 'ready') {
      throw new StepgateError(
        'version/not_ready',
        `version ${version.number} failed to compile or its tests failed; it can never be activated`,
      );
    }
  }

  private async change(
    kind: Kind,
    toVersionId: string | null,
    actor: string,
    reason?: string,
  ): Promise<ChangeResult> {
    const shadow = kind === 'shadow_set' || kind === 'shadow_clear';
    const result = await this.prisma.$transaction(async (tx) => {
      await tx.activeState.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
      // The increment takes the row lock, so concurrent changes serialise here and each
      // sees the state the previous one left.
      const locked = await tx.activeState.update({
        where: { id: 1 },
        data: { revision: { increment: 1 } },
      });
      const fromVersionId = shadow ? locked.shadowVersionId : locked.activeVersionId;
      if (fromVersionId === toVersionId) {
        await tx.activeState.update({ where: { id: 1 }, data: { revision: { decrement: 1 } } });
        return { revision: locked.revision - 1, fromVersionId, toVersionId, changed: false };
      }
      await tx.activeState.update({
        where: { id: 1 },
        data: shadow ? { shadowVersionId: toVersionId } : { activeVersionId: toVersionId },
      });
      await tx.activation.create({
        data: {
          revision: locked.revision,
          kind,
          actor,
          reason: reason ?? null,
          fromVersionId,
          toVersionId,
        },
      });
      await this.audit.record(
        {
          actor,
          action: `version.${kind}`,
          ...(toVersionId ? { target: toVersionId } : {}),
          ...(reason ? { reason } : {}),
          details: { revision: locked.revision, from: fromVersionId, to: toVersionId },
        },
        tx,
      );
      return { revision: locked.revision, fromVersionId, toVersionId, changed: true };
    });
    if (result.changed) this.events.emitChange({ revision: result.revision, kind });
    return result;
  }
}
