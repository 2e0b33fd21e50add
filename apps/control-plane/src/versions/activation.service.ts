import { Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import {
  LiveStateRepository,
  type LiveStateChangeKind,
} from '../live-state/live-state.repository.js';
import { LiveStateService } from '../live-state/live-state.service.js';
import { VersionsService } from './versions.service.js';

export interface ChangeResult {
  revision: number;
  fromVersionId: string | null;
  toVersionId: string | null;
  changed: boolean;
}

/**
 * Decides which version is live: checks the target is ready, then changes the live state through
 * its owner (LiveStateService) with the audit row in the same transaction. Needs only the
 * database: rollback works with every Git remote down.
 */
@Injectable()
export class ActivationService {
  constructor(
    private readonly liveState: LiveStateService,
    private readonly liveStateRepository: LiveStateRepository,
    private readonly versions: VersionsService,
    private readonly audit: AuditService,
  ) {}

  async activate(ref: string, actor: string, reason?: string): Promise<ChangeResult> {
    const version = await this.versions.resolve(ref);
    this.assertReady(version);
    // A version the activation gate holds goes live only on an operator's stated reason, and
    // the audit row keeps the replay figures the operator overrode.
    const { activationHeld: held, replay } = await this.versions.impact(version);
    if (held && !reason?.trim())
      throw new StepgateError(
        'request/invalid',
        `version ${version.number} is held by the activation gate: ${held.reason}; activate it with a reason (stepgate activate ${version.number} --reason '<why>')`,
      );
    const gate = held
      ? { activationHeld: held, ...(replay ? { replayId: replay.id } : {}) }
      : undefined;
    return this.change('activate', version.id, actor, reason, gate);
  }

  /** Back to `to`, or to the version that was active before the current one. */
  async rollback(actor: string, reason: string, to?: string): Promise<ChangeResult> {
    let targetId: string;
    if (to) {
      const version = await this.versions.resolve(to);
      this.assertReady(version);
      targetId = version.id;
    } else {
      const previous = await this.liveStateRepository.rollbackTarget();
      if (!previous)
        throw new StepgateError(
          'version/not_found',
          'there is no earlier active version to roll back to',
        );
      targetId = previous;
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
    kind: LiveStateChangeKind,
    toVersionId: string | null,
    actor: string,
    reason?: string,
    extra?: Record<string, unknown>,
  ): Promise<ChangeResult> {
    const applied = await this.liveState.change(
      { kind, toVersionId, actor, ...(reason ? { reason } : {}) },
      (tx, { revision, fromVersionId }) =>
        this.audit.record(
          {
            actor,
            action: `version.${kind}`,
            ...(toVersionId ? { target: toVersionId } : {}),
            ...(reason ? { reason } : {}),
            details: { revision, from: fromVersionId, to: toVersionId, ...extra },
          },
          tx,
        ),
    );
    const { revision, fromVersionId, changed } = applied;
    return { revision, fromVersionId, toVersionId, changed };
  }
}
