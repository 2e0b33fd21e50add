import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module.js';
import { secretBoxProvider } from '../../common/secret-box.provider.js';
import { PipelineGatesModule } from '../../pipeline-gates/pipeline-gates.module.js';
import { StepUpModule } from '../../step-up/step-up.module.js';
import { TerraformClient } from './terraform-client.js';
import { TerraformGateHandler } from './terraform-gate-handler.js';
import { TerraformGatesRepository } from './terraform-gates.repository.js';
import { TerraformRunHeartbeatService } from './terraform-run-heartbeat.service.js';
import { TerraformRunTaskController } from './terraform-run-task.controller.js';
import { TerraformRunTaskService } from './terraform-run-task.service.js';

/**
 * The HCP Terraform / Terraform Enterprise run task: on when STEPGATE_TERRAFORM_HMAC_KEY is
 * set (the route answers 404 otherwise). Waiting runs are pipeline gates of kind `terraform`.
 */
@Module({
  imports: [PipelineGatesModule, StepUpModule, AuditModule],
  controllers: [TerraformRunTaskController],
  providers: [
    { provide: TerraformClient, useFactory: () => new TerraformClient() },
    TerraformGateHandler,
    TerraformGatesRepository,
    TerraformRunHeartbeatService,
    TerraformRunTaskService,
    secretBoxProvider,
  ],
})
export class TerraformRunTaskModule {}
