import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { createSourceRequestSchema, type CreateSourceRequest } from '@stepgate/protocol';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import { SourcesService } from './sources.service.js';

@Controller('v1/sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Get()
  @RequireScopes('viewer', 'operator')
  async list() {
    return { sources: await this.sources.list() };
  }

  @Get(':id')
  @RequireScopes('viewer', 'operator')
  async get(@Param('id') id: string) {
    return this.sources.view(await this.sources.get(id));
  }

  /**
   * A source decides what agents enforce (its head may be auto-activated), so adding one is a
   * protected admin action (`stepgate:sources:create` on `sources/<name>`).
   */
  @Post()
  @RequireScopes('admin')
  @StepUpProtected('stepgate:sources:create', (request) => {
    const name = (request.body as { name?: unknown } | undefined)?.name;
    return `sources/${typeof name === 'string' ? name.trim() : ''}`;
  })
  create(
    @Body(new ZodValidationPipe(createSourceRequestSchema)) body: CreateSourceRequest,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.sources.create(body, actorOf(principal));
  }
}
