import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Query,
} from '@nestjs/common';
import {
  grantsQuerySchema,
  revokeGrantRequestSchema,
  StepgateError,
  type GrantsQuery,
  type GrantsResponse,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { GrantsService } from './grants.service.js';

/** A malformed id is a 404 like any unknown one: no grant has it. */
const grantId = new ParseUUIDPipe({
  exceptionFactory: () =>
    new StepgateError('grant/not_found', 'no grant with that id (ids are UUIDs)'),
});

@Controller('v1/grants')
export class GrantsController {
  constructor(private readonly grants: GrantsService) {}

  @Get()
  @RequireScopes('viewer', 'operator', 'approver')
  async list(
    @Query(new ZodValidationPipe(grantsQuerySchema, 'query')) query: GrantsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GrantsResponse> {
    return { grants: await this.grants.list(principal, query) };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('viewer', 'operator', 'approver')
  async revoke(
    @Param('id', grantId) id: string,
    @Body(new ZodValidationPipe(revokeGrantRequestSchema))
    body: z.infer<typeof revokeGrantRequestSchema>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.grants.revoke(id, principal, body.reason);
  }
}
