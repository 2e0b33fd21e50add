import { Module } from '@nestjs/common';
import { GrantsModule } from '../grants/grants.module.js';
import { ApprovalExpiryService } from './approval-expiry.service.js';
import { ApprovalsController } from './approvals.controller.js';
import { ApprovalsService } from './approvals.service.js';

/** Approval requests, their decisions, and the grants completed ones turn into. */
@Module({
  imports: [GrantsModule],
  controllers: [ApprovalsController],
  providers: [ApprovalsService, ApprovalExpiryService],
  exports: [ApprovalsService],
})
export class ApprovalsModule {}
