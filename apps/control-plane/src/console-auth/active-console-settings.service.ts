import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ConsoleOidcSettings, Settings } from '@stepgate/policy';
import { LiveStateEvents } from '../live-state/live-state.events.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { VersionsRepository } from '../versions/versions.repository.js';

/** How long one read of the active version id serves sign-ins (an activation shows within it). */
const FRESH_MS = 1000;

/**
 * The console sign-in the ACTIVE version declares (`console.oidc` in its stepgate.yaml), read
 * through the live state's one owner and parsed once per active version. Every admin request
 * carrying a JWT asks here, so the active version id is re-read at most once a second (at once
 * after an activation made on this replica), as for signals.
 */
@Injectable()
export class ActiveConsoleSettingsService implements OnModuleDestroy {
  private active?: { at: number; versionId: Promise<string | null> };
  private declared?: { versionId: string | null; value: Promise<ConsoleOidcSettings | null> };
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

  /** The active version's console OIDC settings; null without an active version or without any. */
  async oidc(): Promise<ConsoleOidcSettings | null> {
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

  private async load(versionId: string | null): Promise<ConsoleOidcSettings | null> {
    if (versionId === null) return null;
    const version = await this.versions.get(versionId);
    const settings = (version.policySet as { settings?: Settings } | null)?.settings;
    return settings?.console?.oidc ?? null;
  }
}
