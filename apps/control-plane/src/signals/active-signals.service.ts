import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Settings, SignalDeclaration } from '@stepgate/policy';
import { LiveStateEvents } from '../live-state/live-state.events.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { VersionsRepository } from '../versions/versions.repository.js';

/** The signals the active version declares (`signals:` in its stepgate.yaml). */
export interface DeclaredSignals {
  versionNumber: number | null;
  signals: Record<string, SignalDeclaration>;
}

/** How long one read of the active version serves ingest and the sweeper (an activation shows within it). */
const FRESH_MS = 1000;

/**
 * Which signals exist: the active version's declarations, read through the live state's one
 * owner (as live data reads its documents) and parsed once per active version. Events, the
 * sweeper and inspection all ask here, many times a second, so the active version id itself is
 * re-read at most once a second (at once after an activation made on this replica).
 */
@Injectable()
export class ActiveSignalsService implements OnModuleDestroy {
  private active?: { at: number; versionId: Promise<string | null> };
  private declared?: { versionId: string | null; value: Promise<DeclaredSignals> };
  private readonly unsubscribe: () => void;

  constructor(
    private readonly liveState: LiveStateRepository,
    private readonly versions: VersionsRepository,
    events: LiveStateEvents,
  ) {
    this.unsubscribe = events.onChange(() => (this.active = undefined));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async current(): Promise<DeclaredSignals> {
    const versionId = await this.activeVersionId();
    if (this.declared?.versionId !== versionId) {
      const value = this.load(versionId);
      this.declared = { versionId, value };
      value.catch(() => {
        if (this.declared?.value === value) this.declared = undefined;
      });
    }
    return this.declared.value;
  }

  private activeVersionId(): Promise<string | null> {
    const now = Date.now();
    if (!this.active || now - this.active.at > FRESH_MS) {
      const versionId = this.liveState.current().then((state) => state.activeVersionId);
      this.active = { at: now, versionId };
      versionId.catch(() => {
        if (this.active?.versionId === versionId) this.active = undefined;
      });
    }
    return this.active.versionId;
  }

  private async load(versionId: string | null): Promise<DeclaredSignals> {
    if (versionId === null) return { versionNumber: null, signals: {} };
    const version = await this.versions.get(versionId);
    const settings = (version.policySet as { settings?: Settings } | null)?.settings;
    return { versionNumber: version.number, signals: settings?.signals ?? {} };
  }
}
