import { Injectable } from '@nestjs/common';
import type { Transaction } from '../database/transaction.js';
import { LiveStateEvents } from './live-state.events.js';
import {
  LiveStateRepository,
  type AppliedChange,
  type LiveStateChangeRequest,
} from './live-state.repository.js';

/**
 * The one way the live state changes (activation, rollback, shadow, issuer-keys re-issue): the
 * revision moves in one transaction (LiveStateRepository.change), then the change is announced
 * with what the gateway pushes, so no listener has to read the state again.
 */
@Injectable()
export class LiveStateService {
  constructor(
    private readonly repository: LiveStateRepository,
    private readonly events: LiveStateEvents,
  ) {}

  async change(
    request: LiveStateChangeRequest,
    record: (tx: Transaction, applied: AppliedChange) => Promise<void>,
  ): Promise<AppliedChange> {
    const applied = await this.repository.change(request, record);
    if (applied.changed)
      this.events.emitChange({
        kind: applied.kind,
        revision: applied.revision,
        versionId: applied.toVersionId,
        rollback: applied.rollback,
      });
    return applied;
  }
}
