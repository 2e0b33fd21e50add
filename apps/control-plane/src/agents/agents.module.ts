import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { BundlesModule } from '../bundles/bundles.module.js';
import { DecisionsModule } from '../decisions/decisions.module.js';
import { GrantsModule } from '../grants/grants.module.js';
import { LiveDataModule } from '../live-data/live-data.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { SignalsModule } from '../signals/signals.module.js';
import { AgentIdentityService } from './agent-identity.service.js';
import { AgentTokenCache } from './agent-token-cache.js';
import { AgentGateway } from './agent.gateway.js';
import { AgentMetrics } from './agent.metrics.js';
import { AgentsController } from './agents.controller.js';
import { AgentsRepository } from './agents.repository.js';
import { AgentsService } from './agents.service.js';
import { FleetService } from './fleet.service.js';
import { LiveRevisionsService } from './live-revisions.service.js';
import { UnknownRevisionsService } from './unknown-revisions.service.js';

/** The agent gateway, the agent registry and the fleet view. */
@Module({
  imports: [
    BundlesModule,
    DecisionsModule,
    GrantsModule,
    LiveStateModule,
    LiveDataModule,
    SignalsModule,
    AuditModule,
    AuthModule,
  ],
  controllers: [AgentsController],
  providers: [
    AgentGateway,
    AgentIdentityService,
    AgentTokenCache,
    AgentsRepository,
    AgentsService,
    FleetService,
    LiveRevisionsService,
    UnknownRevisionsService,
    AgentMetrics,
  ],
})
export class AgentsModule {}
