import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  StepgateError,
  TERRAFORM_PLAN_STAGES,
  type CheckRequest,
  type TerraformRunTaskRequest,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../../audit/audit.service.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/configuration.js';
import { LOGGER } from '../../logging/logger.js';
import { PipelineGatesService } from '../../pipeline-gates/pipeline-gates.service.js';
import { ActiveEngineService } from '../../step-up/active-engine.service.js';
import { PlanJsonError, planChanges } from './plan-changes.js';
import { parseRunTaskRequest } from './run-task-request.js';
import { runTaskDecisionRequest } from './run-task-input.js';
import { errorResult } from './run-task-result.js';
import { RUN_TASK_SIGNATURE_HEADER, verifyRunTaskSignature } from './run-task-signature.js';
import { TerraformApiError, TerraformClient } from './terraform-client.js';
import {
  TerraformGateHandler,
  type TerraformGateSecrets,
  type TerraformGateTarget,
} from './terraform-gate-handler.js';

export interface RunTaskHeaders {
  [name: string]: string | string[] | undefined;
}

/** The audit actor for a run: the organization and workspace HCP Terraform signed for. */
const actorOf = (run: TerraformRunTaskRequest) =>
  `terraform:${run.organization_name}/${run.workspace_name}`;

/**
 * The HCP Terraform run task (`POST /v1/integrations/terraform/run-task`): verifies and
 * acknowledges the request at once (HCP Terraform wants a quick 200), then, in the background,
 * fetches the plan JSON, maps it to a decision request and opens a pipeline gate for it. The
 * gate decides at once with the principal's grants; the handler reports `passed` / `failed`,
 * or `running` with what to do while a step-up is missing, until it is satisfied or times out.
 */
@Injectable()
export class TerraformRunTaskService implements OnModuleInit {
  constructor(
    private readonly gates: PipelineGatesService,
    private readonly engines: ActiveEngineService,
    private readonly client: TerraformClient,
    private readonly handler: TerraformGateHandler,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    if (this.config.terraform) this.gates.register('terraform', this.handler);
  }

  /**
   * Checks the request and starts working on it; resolves with what the 200 says. Refusals
   * (nothing is recorded for any of them): 404 when the run task is not configured, 401 for
   * a missing or wrong signature, 400 for a malformed request, 409 for a replay.
   */
  async receive(headers: RunTaskHeaders, rawBody: Buffer | undefined): Promise<{ status: string }> {
    const settings = this.config.terraform;
    if (!settings)
      throw new StepgateError(
        'route/not_found',
        'the Terraform run task is not configured on this control plane (set STEPGATE_TERRAFORM_HMAC_KEY)',
      );
    const body = rawBody ?? Buffer.alloc(0);
    if (!verifyRunTaskSignature(body, headers[RUN_TASK_SIGNATURE_HEADER], settings.hmacKey)) {
      this.logger.warn('terraform run task refused: bad or missing X-TFC-Task-Signature');
      throw new StepgateError(
        'webhook/bad_signature',
        "the X-TFC-Task-Signature header is missing or is not the HMAC-SHA512 of the body with the run task's HMAC key (STEPGATE_TERRAFORM_HMAC_KEY)",
      );
    }
    const parsed = parseRunTaskRequest(body, settings.url);
    if (parsed.kind === 'verification') return { status: 'verified' };
    const run = parsed.run;
    const delivery = `${run.run_id}:${run.stage}:${run.task_result_id}`;
    if (!(await this.gates.recordDelivery('terraform', delivery)))
      throw new StepgateError(
        'webhook/replayed',
        `run task request for run ${run.run_id} at ${run.stage} (task result ${run.task_result_id}) was received before; it is not processed twice`,
      );
    // In the background: HCP Terraform wants the 200 at once. A run this process drops
    // (killed before the gate is open) gets no result and HCP Terraform errors it after 10
    // minutes: it fails closed.
    void this.process(run).catch((error: Error) =>
      this.logger.error(
        { run: run.run_id, error: error.message },
        'terraform run task: processing failed',
      ),
    );
    return { status: 'accepted' };
  }

  private async process(run: TerraformRunTaskRequest): Promise<void> {
    try {
      if (!TERRAFORM_PLAN_STAGES.includes(run.stage) || !run.plan_json_api_url)
        throw new StepgateError(
          'request/invalid',
          `Stepgate decides on the plan, which the ${run.stage} stage does not have: attach this run task to the workspace at the post-plan stage`,
        );
      const changes = planChanges(
        await this.client.planJson(run.plan_json_api_url, run.access_token),
      );
      const engines = await this.engines.current();
      if (!engines)
        throw new StepgateError(
          'service/unavailable',
          'no policy version is active on the control plane yet',
        );
      const input = runTaskDecisionRequest(run, changes, engines.data) as CheckRequest;
      const target: TerraformGateTarget = {
        runId: run.run_id,
        stage: run.stage,
        taskResultId: run.task_result_id,
        callbackUrl: run.task_result_callback_url,
        organization: run.organization_name,
        workspace: run.workspace_name,
      };
      const secrets: TerraformGateSecrets = { accessToken: run.access_token };
      await this.openGate(run, input, target, secrets);
    } catch (error) {
      await this.fail(run, error);
    }
  }

  /**
   * Opens the gate; from here on the gate reports the run. A failure after the gate may have
   * reported (the database going away mid-way) is only logged, so a run never gets a second,
   * contradicting result; without one HCP Terraform errors it after 10 minutes.
   */
  private async openGate(
    run: TerraformRunTaskRequest,
    input: CheckRequest,
    target: TerraformGateTarget,
    secrets: TerraformGateSecrets,
  ): Promise<void> {
    const timeout = this.config.terraform?.stepUpTimeoutSeconds ?? 30 * 60;
    try {
      await this.gates.open({
        kind: 'terraform',
        principal: input.principal.id,
        input,
        target: { ...target },
        secrets: { ...secrets },
        expiresAt: new Date(Date.now() + timeout * 1000),
        actor: actorOf(run),
        approvalReason: `HCP Terraform run ${run.run_id} on ${run.organization_name}/${run.workspace_name}${run.run_message ? `: ${run.run_message}` : ''}`,
      });
    } catch (error) {
      // The engine refusing the input is thrown before anything is recorded: report it.
      if (error instanceof StepgateError && error.code === 'request/invalid') throw error;
      this.logger.error(
        { run: run.run_id, error: (error as Error).message },
        'terraform run task: opening the gate failed',
      );
    }
  }

  /** Reports a run Stepgate could not decide as failed (fail closed), and audits it. */
  private async fail(run: TerraformRunTaskRequest, error: unknown): Promise<void> {
    const known =
      error instanceof StepgateError ||
      error instanceof TerraformApiError ||
      error instanceof PlanJsonError;
    const message = known
      ? (error as Error).message
      : 'an internal error (see the control plane log)';
    if (!known)
      this.logger.error(
        { run: run.run_id, error: (error as Error).message },
        'terraform run task failed',
      );
    await this.audit.record({
      actor: actorOf(run),
      action: 'terraform.run_task.error',
      target: `terraform-run:${run.run_id}`,
      reason: message,
      details: {
        stage: run.stage,
        taskResultId: run.task_result_id,
        runCreatedBy: run.run_created_by,
      },
    });
    await this.client.sendResult(
      run.task_result_callback_url,
      run.access_token,
      errorResult(message),
    );
  }
}
