import { Inject, Injectable } from '@nestjs/common';
import type { CheckResponse } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/configuration.js';
import { LOGGER } from '../../logging/logger.js';
import type {
  PipelineGate,
  PipelineGateHandler,
  PipelineGateOutcome,
} from '../../pipeline-gates/pipeline-gate.js';
import { decidedResult, expiredResult, pendingResult } from './run-task-result.js';
import { TerraformClient } from './terraform-client.js';

/** What a Terraform gate keeps to report back (stored as the gate's target, never a secret). */
export interface TerraformGateTarget {
  runId: string;
  stage: string;
  taskResultId: string;
  callbackUrl: string;
  organization: string;
  workspace: string;
}

/** The run's access token, sealed at rest by the pipeline gates. */
export interface TerraformGateSecrets {
  accessToken: string;
}

/**
 * Reports a Terraform gate to HCP Terraform: `passed` / `failed` when it closes (allowed,
 * denied, or the step-up did not come in time) and `running` with what to do while it waits.
 */
@Injectable()
export class TerraformGateHandler implements PipelineGateHandler {
  constructor(
    private readonly client: TerraformClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async resolve(gate: PipelineGate, outcome: PipelineGateOutcome): Promise<void> {
    const body =
      outcome.effect === 'expired'
        ? expiredResult(outcome.decision?.decision, gate.input, gate.expiresAt)
        : decidedResult((outcome.decision as CheckResponse).decision, gate.input, this.links);
    await this.send(gate, body);
    this.logger.info(
      {
        gate: gate.id,
        run: (gate.target as unknown as TerraformGateTarget).runId,
        status: body.data.attributes.status,
      },
      'terraform run task result reported',
    );
  }

  async pending(gate: PipelineGate, decision: CheckResponse): Promise<void> {
    await this.send(
      gate,
      pendingResult(
        decision.decision,
        gate.input,
        this.links,
        gate.expiresAt,
        gate.approvalRequestId ?? undefined,
      ),
    );
  }

  /** The `running` update again, so HCP Terraform (which wants one every 10 minutes) waits on. */
  async stillPending(gate: PipelineGate): Promise<void> {
    if (gate.decision?.decision.effect === 'step_up') return this.pending(gate, gate.decision);
    await this.send(gate, {
      data: {
        type: 'task-results',
        attributes: {
          status: 'running',
          message: `Stepgate is waiting for an active policy version to decide this run (until ${gate.expiresAt.toISOString()}).`,
        },
      },
    });
  }

  private get links() {
    return { publicUrl: this.config.publicUrl };
  }

  private send(gate: PipelineGate, body: Parameters<TerraformClient['sendResult']>[2]) {
    const target = gate.target as unknown as TerraformGateTarget;
    const secrets = gate.secrets as unknown as TerraformGateSecrets;
    return this.client.sendResult(target.callbackUrl, secrets.accessToken, body);
  }
}
