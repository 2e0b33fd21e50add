import { Controller, Get, Query } from '@nestjs/common';
import { agentsQuerySchema, type AgentsQuery } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { AgentsService } from './agents.service.js';
import { FleetService } from './fleet.service.js';

@Controller('v1')
@RequireScopes('viewer', 'operator')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly fleetService: FleetService,
  ) {}

  @Get('agents')
  async list(@Query(new ZodValidationPipe(agentsQuerySchema, 'query')) query: AgentsQuery) {
    return { agents: await this.agents.list(query) };
  }

  @Get('fleet')
  fleet() {
    return this.fleetService.fleet();
  }
}
