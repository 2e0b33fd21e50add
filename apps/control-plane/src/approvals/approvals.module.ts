import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { GrantsModule } from '../grants/grants.module.js';
import { StepUpModule } from '../step-up/step-up.module.js';
import { ApprovalExpiryService } from './approval-expiry.service.js';
import { ApprovalsController } from './approvals.controller.js';
import { ApprovalsRepository } from './approvals.repository.js';
import { ApprovalsService } from './approvals.service.js';

/** Approval requests, their decisions, and the grants completed ones turn into. */
@Module({
  imports: [GrantsModule, AuditModule, StepUpModule],
  controllers: [ApprovalsController],
  providers: [ApprovalsRepository, ApprovalsService, ApprovalExpiryService],
  exports: [ApprovalsService],
})
export class ApprovalsModule {}
