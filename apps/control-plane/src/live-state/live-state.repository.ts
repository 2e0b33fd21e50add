import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';

/** What an Activation row records; `activate` and `rollback` move the active version. */
export type LiveStateChangeKind = 'activate' | 'rollback' | 'shadow_set' | 'shadow_clear';

const ACTIVE_KINDS: LiveStateChangeKind[] = ['activate', 'rollback'];
const SHADOW_KINDS: LiveStateChangeKind[] = ['shadow_set', 'shadow_clear'];

/** The single ActiveState row. */
const ROW = { id: 1 } as const;

/** How far back the history is searched for an earlier active version (rollback target). */
const ROLLBACK_HISTORY = 200;

export interface LiveState {
  /** Bumped by every activation, rollback, shadow change and issuer-keys re-issue; 0 before any. */
  revision: number;
  activeVersionId: string | null;
  shadowVersionId: string | null;
  /** When the row last changed; null before the first change. */
  updatedAt: Date | null;
}

/** The last Activation row of the active (activate, rollback) or shadow (set, clear) kinds. */
export interface LastChange {
  revision: number;
  kind: LiveStateChangeKind;
  createdAt: Date;
}

export interface LiveStateChangeRequest {
  kind: LiveStateChangeKind;
  /** The version the change makes active (or shadow); null clears the shadow. */
  toVersionId: string | null;
  actor: string;
  reason?: string;
  /**
   * A re-issue of the active version at a new revision (new issuer keys, same policies): written
   * only while `toVersionId` is still the active version, as an `activate` from it to itself.
   */
  reissue?: boolean;
}

export interface AppliedChange {
  kind: LiveStateChangeKind;
  /** The new revision; when nothing changed, the current one. */
  revision: number;
  fromVersionId: string | null;
  toVersionId: string | null;
  changed: boolean;
  /** Whether the active version at this revision got there by a rollback (agents are told). */
  rollback: boolean;
}

/**
 * The one owner of the live state (the ActiveState row) and of its history (Activation rows):
 * the current revision and versions, the one transaction that moves the revision, and the
 * history questions several features ask (what a rollback goes back to, whether the active
 * version came from a rollback).
 */
@Injectable()
export class LiveStateRepository {
  constructor(private readonly prisma: PrismaService) {}

  async current(): Promise<LiveState> {
    const state = await this.prisma.activeState.findUnique({ where: ROW });
    return {
      revision: state?.revision ?? 0,
      activeVersionId: state?.activeVersionId ?? null,
      shadowVersionId: state?.shadowVersionId ?? null,
      updatedAt: state?.updatedAt ?? null,
    };
  }

  /** The last change of the active version (including re-issues) or of the shadow. */
  async lastChange(of: 'active' | 'shadow'): Promise<LastChange | null> {
    const row = await this.prisma.activation.findFirst({
      where: { kind: { in: of === 'active' ? ACTIVE_KINDS : SHADOW_KINDS } },
      orderBy: { revision: 'desc' },
      select: { revision: true, kind: true, createdAt: true },
    });
    return row;
  }

  /**
   * The version a plain rollback goes back to: the last version that was active other than the
   * current one; null when there is none. The one definition of "previous version", for the
   * rollback itself and for the step-up check that authorises it.
   */
  async rollbackTarget(): Promise<string | null> {
    const { activeVersionId } = await this.current();
    const history = await this.prisma.activation.findMany({
      where: { kind: { in: ACTIVE_KINDS } },
      orderBy: { revision: 'desc' },
      take: ROLLBACK_HISTORY,
      select: { toVersionId: true },
    });
    const previous = history.find((row) => row.toVersionId && row.toVersionId !== activeVersionId);
    return previous?.toVersionId ?? null;
  }

  /**
   * Whether a version was ever made active (a crashed sync may have recorded it without).
   * Only activations and rollbacks count: putting a version in shadow enforces nothing, so it
   * must not lift the activation gate's hold.
   */
  async everActivated(versionId: string): Promise<boolean> {
    const made = await this.prisma.activation.count({
      where: { toVersionId: versionId, kind: { in: ACTIVE_KINDS } },
    });
    return made > 0;
  }

  /** Whether the active version got there by a rollback (see AppliedChange.rollback). */
  activeIsRollback(): Promise<boolean> {
    return isRollback(this.prisma);
  }

  /**
   * Applies a change at the next revision, in one transaction with its Activation row and with
   * whatever `record` writes (the audit row), so agents never see a change without a newer
   * revision and no change goes unaudited. A change to what is already there (or a re-issue of a
   * version no longer active) writes nothing and leaves the revision alone.
   */
  change(
    request: LiveStateChangeRequest,
    record: (tx: Transaction, applied: AppliedChange) => Promise<void>,
  ): Promise<AppliedChange> {
    const { kind, toVersionId } = request;
    const shadow = kind === 'shadow_set' || kind === 'shadow_clear';
    return this.prisma.$transaction(async (tx) => {
      await tx.activeState.upsert({ where: ROW, create: ROW, update: {} });
      // The increment takes the row lock, so concurrent changes serialise here and each
      // sees the state the previous one left.
      const locked = await tx.activeState.update({
        where: ROW,
        data: { revision: { increment: 1 } },
      });
      const fromVersionId = shadow ? locked.shadowVersionId : locked.activeVersionId;
      // A re-issue needs its version still active (an activation meanwhile already carries what
      // it would); any other change needs a different version.
      const applies = request.reissue
        ? fromVersionId === toVersionId
        : fromVersionId !== toVersionId;
      if (!applies) {
        await tx.activeState.update({ where: ROW, data: { revision: { decrement: 1 } } });
        const revision = locked.revision - 1;
        return { kind, revision, fromVersionId, toVersionId, changed: false, rollback: false };
      }
      if (!request.reissue)
        await tx.activeState.update({
          where: ROW,
          data: shadow ? { shadowVersionId: toVersionId } : { activeVersionId: toVersionId },
        });
      await tx.activation.create({
        data: {
          revision: locked.revision,
          kind,
          actor: request.actor,
          reason: request.reason ?? null,
          fromVersionId,
          toVersionId,
        },
      });
      const applied: AppliedChange = {
        kind,
        revision: locked.revision,
        fromVersionId,
        toVersionId,
        changed: true,
        rollback: shadow ? false : await isRollback(tx),
      };
      await record(tx, applied);
      return applied;
    });
  }
}

/** How many recent activations are searched for the last one that changed the version. */
const ROLLBACK_FLAG_HISTORY = 50;

/** A re-issue (from = to) says nothing about rollback: the last real version change decides. */
async function isRollback(client: Pick<Transaction, 'activation'>): Promise<boolean> {
  const recent = await client.activation.findMany({
    where: { kind: { in: ACTIVE_KINDS } },
    orderBy: { revision: 'desc' },
    take: ROLLBACK_FLAG_HISTORY,
    select: { kind: true, fromVersionId: true, toVersionId: true },
  });
  return recent.find((row) => row.fromVersionId !== row.toVersionId)?.kind === 'rollback';
}
