import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  localReplayRequestSchema,
  replayRequestSchema,
  type LocalReplayRequest,
  type Replay,
  type ReplayRequest,
  type ReplayStarted,
} from '@stepgate/protocol';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ReplayService } from './replay.service.js';

@Controller('v1')
export class ReplayController {
  constructor(private readonly replays: ReplayService) {}

  @Post('versions/:ref/replay')
  @HttpCode(202)
  @RequireScopes('operator')
  start(
    @Param('ref') ref: string,
    @Body(new ZodValidationPipe(replayRequestSchema)) body: ReplayRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ReplayStarted> {
    return this.replays.start(ref, body, actorOf(principal));
  }

  /** A replay of a policy set the caller compiled (stepgate replay <dir>); never a version. */
  @Post('replays')
  @HttpCode(202)
  @RequireScopes('operator')
  startLocal(
    @Body(new ZodValidationPipe(localReplayRequestSchema)) body: LocalReplayRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ReplayStarted> {
    return this.replays.startLocal(body, actorOf(principal));
  }

  @Get('replays/:id')
  @RequireScopes('viewer', 'operator')
  get(@Param('id') id: string): Promise<Replay> {
    return this.replays.get(id);
  }

  @Delete('replays/:id')
  @RequireScopes('operator')
  cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<Replay> {
    return this.replays.cancel(id, actorOf(principal));
  }
}
