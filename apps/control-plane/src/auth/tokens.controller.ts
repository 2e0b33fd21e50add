import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { createTokenRequestSchema, type CreateTokenRequest } from '@stepgate/protocol';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { TokenService } from './token.service.js';

@Controller('v1/tokens')
@RequireScopes('admin')
export class TokensController {
  constructor(private readonly tokens: TokenService) {}

  /**
   * The token itself is in this response only; it is stored hashed. `agentId` binds an agent
   * token to that agent id now (otherwise it is bound to the id it first connects as);
   * `agentIdPrefix` makes a fleet token, admitting every agent id under the prefix.
   */
  @Post()
  @StepUpProtected('stepgate:tokens:create', () => 'tokens')
  create(
    @Body(new ZodValidationPipe(createTokenRequestSchema)) body: CreateTokenRequest,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.tokens.create(body.name, body.scopes, actorOf(principal), body.subject, {
      agentId: body.agentId,
      agentIdPrefix: body.agentIdPrefix,
    });
  }

  @Get()
  async list() {
    return { tokens: await this.tokens.list() };
  }

  /**
   * Revoking decides who can act too (an attacker with one admin token could lock the other
   * admins out mid-incident), so it is protected like creation: `stepgate:tokens:delete` on
   * `tokens/<id>`.
   */
  @Delete(':id')
  @HttpCode(204)
  @StepUpProtected(
    'stepgate:tokens:delete',
    (request) => `tokens/${String(request.params.id ?? '')}`,
  )
  async revoke(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.tokens.revoke(id, actorOf(principal));
  }
}
