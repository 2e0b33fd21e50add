import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module.js';
import { ConsoleAuthModule } from '../console-auth/console-auth.module.js';
import { IdTokensModule } from '../id-tokens/id-tokens.module.js';
import { AuthGuard } from './auth.guard.js';
import { FleetAgentsRepository } from './fleet-agents.repository.js';
import { FleetBindingService } from './fleet-binding.service.js';
import { TokenService } from './token.service.js';
import { TokensController } from './tokens.controller.js';
import { TokensRepository } from './tokens.repository.js';

@Module({
  imports: [AuditModule, ConsoleAuthModule, IdTokensModule],
  controllers: [TokensController],
  providers: [
    TokensRepository,
    FleetAgentsRepository,
    TokenService,
    FleetBindingService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService, FleetBindingService],
})
export class AuthModule {}
