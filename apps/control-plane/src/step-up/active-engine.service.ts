import { Injectable } from '@nestjs/common';
import { parsePolicySet, PolicyEngine } from '@stepgate/policy';
import { PrismaService } from '../database/prisma.service.js';

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
}

/**
 * The active version's policy engines, prepared once per revision (preparing parses every
 * condition; deciding is then microseconds). Undefined while no version is active.
 */
@Injectable()
export class ActiveEngineService {
  private cached?: { key: string; engines: Promise<ActiveEngines> };

  constructor(private readonly prisma: PrismaService) {}

  async current(): Promise<ActiveEngines | undefined> {
    const state = await this.prisma.activeState.findUnique({ where: { id: 1 } });
    if (!state?.activeVersionId) return undefined;
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
    const version = await this.prisma.policyVersion.findUniqueOrThrow({
      where: { id: versionId },
      select: { number: true, policySet: true },
    });
    const policySet = parsePolicySet(version.policySet);
    return {
      revision,
      versionNumber: version.number,
      engine: new PolicyEngine(policySet, { revision }),
      selfProtection: new PolicyEngine(
        { ...policySet, settings: { ...policySet.settings, defaultEffect: 'allow' } },
        { revision },
      ),
    };
  }
}
