import { Inject, Injectable } from '@nestjs/common';
import { parsePolicySet, PolicyEngine, type CompiledPolicySet } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { protectionFingerprint } from './protection-policies.js';

export interface ActiveEngines {
  revision: number;
  versionNumber: number;
  /** The active policies exactly as agents enforce them. */
  engine: PolicyEngine;
  /**
   * The same policies with `defaultEffect: allow`, for the control plane's own admin actions:
   * only rules that match count, so a default-deny policy set that says nothing about
   * `stepgate:*` leaves rollback and activation alone.
   */
  selfProtection: PolicyEngine;
  /** protectionFingerprint of the stored set: what a new version is compared with. */
  protection: string;
  /** The policy data from Git (`data/*.yaml`), e.g. `people` for the pipeline integrations. */
  data: Readonly<Record<string, unknown>>;
}

/**
 * The active version's policy engines, prepared once per revision (preparing parses every
 * condition; deciding is then microseconds). Undefined while no version is active.
 */
@Injectable()
export class ActiveEngineService {
  private cached?: { key: string; engines: Promise<ActiveEngines> };

  constructor(
    private readonly versions: VersionsRepository,
    private readonly liveState: LiveStateRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async current(): Promise<ActiveEngines | undefined> {
    const state = await this.liveState.current();
    if (!state.activeVersionId) return undefined;
    const key = `${state.revision}:${state.activeVersionId}`;
    if (this.cached?.key !== key) {
      const engines = this.build(state.revision, state.activeVersionId);
      this.cached = { key, engines };
      // A failed build is not kept: the next call tries again.
      engines.catch(() => {
        if (this.cached?.engines === engines) this.cached = undefined;
      });
    }
    return this.cached.engines;
  }

  private async build(revision: number, versionId: string): Promise<ActiveEngines> {
    const version = await this.versions.get(versionId);
    let policySet: ReturnType<typeof parsePolicySet>;
    try {
      policySet = parsePolicySet(version.policySet);
    } catch (error) {
      // Only a stored set this build cannot read (e.g. written by a newer control plane).
      this.logger.error(
        { version: version.number, error: (error as Error).message },
        'the active policy set cannot be loaded for decisions on the control plane',
      );
      throw new StepgateError(
        'service/unavailable',
        `the active policy set (version ${version.number}) cannot be loaded here: ${(error as Error).message}`,
      );
    }
    return {
      revision,
      versionNumber: version.number,
      engine: new PolicyEngine(policySet, { revision }),
      selfProtection: new PolicyEngine(
        { ...policySet, settings: { ...policySet.settings, defaultEffect: 'allow' } },
        { revision },
      ),
      // From the stored JSON, exactly as a sync computes it for a new version's compiled set.
      protection: protectionFingerprint(version.policySet as unknown as CompiledPolicySet),
      data: policySet.data,
    };
  }
}
