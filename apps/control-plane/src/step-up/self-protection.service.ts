import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Decision } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../common/scopes.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LOGGER } from '../logging/logger.js';
import { ActiveEngineService } from './active-engine.service.js';
import { NO_ACTIVE_PROTECTION, SELF_RESOURCE_KIND } from './protection-policies.js';
import { describeRequirement, satisfyHints } from './satisfy.js';
import { StepUpCheckService } from './step-up-check.service.js';

/**
 * The control plane protects its sensitive admin actions with its own engine: it decides
 * `stepgate:<action>` on `{kind: stepgate, id}` for the caller (token subject, scopes as
 * roles) with the caller's grants as evidence, against the active policies with
 * `defaultEffect: allow` (see ActiveEngineService), so only policies written for it count.
 */
@Injectable()
export class SelfProtectionService implements OnModuleInit {
  constructor(
    private readonly engines: ActiveEngineService,
    private readonly check: StepUpCheckService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    if (!this.config.adminStepUp)
      this.logger.warn(
        'STEPGATE_ADMIN_STEP_UP=off: the admin actions (activation, rollback, shadow, tokens, factor removal, enrolment codes, sources, syncs) skip the policies written for them (break-glass); turn it back on when done',
      );
  }

  /**
   * The protection fingerprint of the active version (`none` when nothing is active), which a
   * new version must match to be activated without an explicit, protected activation.
   */
  async activeProtection(): Promise<string> {
    const engines = await this.engines.current();
    return engines?.protection ?? NO_ACTIVE_PROTECTION;
  }

  /** Resolves when the action may proceed; throws 401 step_up_required or 403 otherwise. */
  async enforce(principal: Principal, action: string, resourceId: string): Promise<void> {
    if (!this.config.adminStepUp) return;
    let decision: Decision;
    try {
      // Nothing active yet (first start): there is no policy that could ask for anything.
      const engines = await this.engines.current();
      if (!engines) return;
      decision = await this.check.decide(
        engines.selfProtection,
        {
          principal: { id: principal.subject, roles: [...principal.scopes] },
          action,
          resource: { kind: SELF_RESOURCE_KIND, id: resourceId },
        },
        new Date(),
      );
    } catch (error) {
      // Fail closed, but say how to get out: rollback is what one reaches for in an incident.
      if (error instanceof StepgateError && error.code !== 'service/unavailable') throw error;
      this.logger.error(
        { action, error: (error as Error)?.message ?? String(error) },
        'cannot evaluate the admin step-up policies',
      );
      throw new StepgateError(
        'service/unavailable',
        `cannot evaluate the policies protecting ${action} right now; retry, or restart the control plane with STEPGATE_ADMIN_STEP_UP=off (break-glass)`,
      );
    }
    if (decision.effect === 'allow') return;
    const reasons = decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`);
    if (decision.effect === 'deny') {
      await this.audit.record({
        actor: actorOf(principal),
        action: 'stepup.denied',
        target: action,
        details: { action, resource: resourceId, reasons, revision: decision.revision },
      });
      const message = decision.reasons.find((reason) => reason.message)?.message;
      throw new StepgateError(
        'auth/forbidden',
        `${action} on ${resourceId} is denied by ${reasons.join(', ')}${message ? `: ${message}` : ''}`,
        { action, resource: resourceId, reasons },
      );
    }
    await this.refuseStepUp(principal, action, resourceId, decision);
  }

  private async refuseStepUp(
    principal: Principal,
    action: string,
    resourceId: string,
    decision: Decision,
  ): Promise<never> {
    const require = decision.require ?? {};
    const satisfy = satisfyHints(require, action, resourceId, {}, decision.unmet);
    const reasons = decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`);
    await this.audit.record({
      actor: actorOf(principal),
      action: 'stepup.required',
      target: action,
      details: {
        action,
        resource: resourceId,
        require,
        unmet: decision.unmet ?? [],
        reasons,
        revision: decision.revision,
      },
    });
    const how = [
      satisfy.elevate ? `run \`${satisfy.elevate}\`` : undefined,
      satisfy.request
        ? `ask for ${satisfy.approvals} approval(s) with \`${satisfy.request}\``
        : undefined,
    ]
      .filter(Boolean)
      .join(' or ');
    throw new StepgateError(
      'auth/step_up_required',
      `${action} needs a step-up of ${principal.subject} (${describeRequirement(require)}, required by ${reasons.join(', ')}): ${how}, then retry`,
      { action, resource: resourceId, require, unmet: decision.unmet ?? [], satisfy, reasons },
    );
  }
}
