import { Injectable } from '@nestjs/common';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import type { LiveRevisions } from './catch-up.js';
import { FreshRead } from '../common/fresh-read.js';

/**
 * Reads the revisions agents should hold. Agents connecting in a burst share one read, but only
 * a read that started after they connected: an older one could predate a change whose broadcast
 * they missed.
 */
@Injectable()
export class LiveRevisionsService {
  private readonly shared = new FreshRead(() => this.read());

  constructor(private readonly liveState: LiveStateRepository) {}

  /**
   * `notBefore`: a `performance.now()` taken when the caller's socket had connected;
   * `gatherMs`: how long the read may wait for other callers to share it (see FreshRead).
   */
  current(notBefore = performance.now(), gatherMs = 0): Promise<LiveRevisions> {
    return this.shared.get(notBefore, gatherMs);
  }

  private async read(): Promise<LiveRevisions> {
    const [state, lastActive, lastShadow] = await Promise.all([
      this.liveState.current(),
      this.liveState.lastChange('active'),
      this.liveState.lastChange('shadow'),
    ]);
    const { revision } = state;
    return {
      revision,
      active: state.activeVersionId
        ? {
            revision: lastActive?.revision ?? revision,
            versionId: state.activeVersionId,
            // A version is only active after a change, so the row has an updatedAt.
            activatedAt: lastActive?.createdAt ?? state.updatedAt ?? new Date(0),
          }
        : null,
      shadow: state.shadowVersionId
        ? { revision: lastShadow?.revision ?? revision, versionId: state.shadowVersionId }
        : null,
      shadowChangedAt: lastShadow?.revision ?? null,
    };
  }
}
