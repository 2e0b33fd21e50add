import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { BundlesModule } from '../bundles/bundles.module.js';
import { GrantEvents } from './grant-events.js';
import { GrantsController } from './grants.controller.js';
import { GrantsRepository } from './grants.repository.js';
import { GrantsService } from './grants.service.js';

/** Signed grants: issue (for elevation and approvals), list, revoke, evidence for checks. */
@Module({
  imports: [BundlesModule, AuditModule],
  controllers: [GrantsController],
  providers: [GrantsRepository, GrantsService, GrantEvents],
  exports: [GrantsRepository, GrantsService, GrantEvents],
})
export class GrantsModule {}
