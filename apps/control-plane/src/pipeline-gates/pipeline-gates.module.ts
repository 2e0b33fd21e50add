import { Module } from '@nestjs/common';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { secretBoxProvider } from '../common/secret-box.provider.js';
import { StepUpModule } from '../step-up/step-up.module.js';
import { PipelineGatePollerService } from './pipeline-gate-poller.service.js';
import { PipelineGatesRepository } from './pipeline-gates.repository.js';
import { PipelineGatesService } from './pipeline-gates.service.js';

/**
 * Pending pipeline gates (GitHub deployments, Terraform runs waiting on a step-up), shared by
 * the platform integrations: import it and register a handler for your kind.
 */
@Module({
  imports: [StepUpModule, ApprovalsModule, AuditModule],
  providers: [
    PipelineGatesRepository,
    PipelineGatesService,
    PipelineGatePollerService,
    secretBoxProvider,
  ],
  exports: [PipelineGatesService],
})
export class PipelineGatesModule {}
