import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module.js';
import { GrantsModule } from '../grants/grants.module.js';
import { LiveDataModule } from '../live-data/live-data.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { SignalsModule } from '../signals/signals.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { ActiveEngineService } from './active-engine.service.js';
import { DecisionFactsService } from './decision-facts.service.js';
import { SelfProtectionService } from './self-protection.service.js';
import { StepUpCheckService } from './step-up-check.service.js';
import { StepUpController } from './step-up.controller.js';
import { StepUpGuard } from './step-up.guard.js';

/**
 * The control plane's own step-up engine: POST /v1/check, self-protection of admin actions
 * (@StepUpProtected from common/ marks a route; the guard registered here enforces it on any
 * module's routes). Import it for SelfProtectionService or ActiveEngineService.
 */
@Module({
  imports: [
    GrantsModule,
    LiveStateModule,
    AuditModule,
    VersionsModule,
    LiveDataModule,
    SignalsModule,
  ],
  controllers: [StepUpController],
  providers: [
    ActiveEngineService,
    DecisionFactsService,
    StepUpCheckService,
    SelfProtectionService,
    // Global, after AuthModule's AuthGuard (global guards run in registration order and
    // AppModule imports AuthModule first): acts only on routes marked @StepUpProtected.
    { provide: APP_GUARD, useClass: StepUpGuard },
  ],
  exports: [SelfProtectionService, ActiveEngineService, DecisionFactsService, StepUpCheckService],
})
export class StepUpModule {}
