import { Inject, Injectable } from '@nestjs/common';
import type { ActivationHeld } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger.js';
import { ReplayService } from '../replay/replay.service.js';
import {
  activationGateOf,
  SYNC_REPLAY_ACTOR,
  SYNC_REPLAY_WINDOW_MS,
} from '../versions/version-impact.js';
import { VersionsService } from '../versions/versions.service.js';

/**
 * How long a sync waits for the replay of a gated head before holding it: a 24 h replay of
 * 200k records takes seconds; one still running after this is held (and says so).
 */
export const GATE_WAIT_MS = 120_000;
const POLL_MS = 250;

interface VersionRef {
  id: string;
  number: number;
  status: string;
  policySet: unknown;
}

/**
 * The sync's replays: every new ready version is replayed over the 24 h before it was recorded,
 * in the background (the replay queue), and a head whose stepgate.yaml declares an activation
 * gate waits for its replay before it may be auto-activated.
 */
@Injectable()
export class SyncReplayService {
  constructor(
    private readonly replays: ReplayService,
    private readonly versions: VersionsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Queues the version's replay; a failure to queue is logged, never fails the sync. */
  async start(version: { id: string; number: number }): Promise<string | null> {
    const until = new Date();
    try {
      const started = await this.replays.start(
        version.id,
        {
          since: new Date(until.getTime() - SYNC_REPLAY_WINDOW_MS).toISOString(),
          until: until.toISOString(),
        },
        SYNC_REPLAY_ACTOR,
      );
      return started.id;
    } catch (error) {
      this.logger.warn(
        { version: version.number, error: (error as Error).message },
        'could not queue the replay of a new version; its impact is unknown',
      );
      return null;
    }
  }

  /**
   * Null when the head may be auto-activated: it declares no gate, or its replay changed no more
   * than the gate allows. Otherwise why it is held (over the limit, replay failed or too slow).
   */
  async gate(head: VersionRef, waitMs = GATE_WAIT_MS): Promise<ActivationHeld | null> {
    if (!activationGateOf(head.policySet)) return null;
    const deadline = Date.now() + waitMs;
    let impact = await this.versions.impact(head);
    if (impact.replay === null && (await this.start(head)) !== null)
      impact = await this.versions.impact(head);
    while (
      impact.replay !== null &&
      (impact.replay.status === 'queued' || impact.replay.status === 'running') &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      impact = await this.versions.impact(head);
    }
    const held = impact.activationHeld;
    if (held && impact.replay && ['queued', 'running'].includes(impact.replay.status))
      return {
        ...held,
        reason: `its replay did not finish within ${Math.round(waitMs / 1000)} s, so its impact is unknown`,
      };
    return held;
  }
}
