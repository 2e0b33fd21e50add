import { Body, Controller, Delete, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import {
  totpElevateRequestSchema,
  totpEnrollRequestSchema,
  type TotpElevateRequest,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../auth/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { HUMAN_SCOPES } from './elevation-grant.js';
import { RetryAfterInterceptor } from './retry-after.interceptor.js';
import { TotpService } from './totp.service.js';

@Controller('v1/elevation/totp')
@UseInterceptors(RetryAfterInterceptor)
export class TotpController {
  constructor(private readonly totp: TotpService) {}

  @Post('enroll')
  @RequireScopes(...HUMAN_SCOPES)
  enroll(
    @Body(new ZodValidationPipe(totpEnrollRequestSchema))
    body: z.infer<typeof totpEnrollRequestSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.totp.enroll(principal, body);
  }

  @Post()
  @RequireScopes(...HUMAN_SCOPES)
  elevate(
    @Body(new ZodValidationPipe(totpElevateRequestSchema)) body: TotpElevateRequest,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.totp.elevate(principal, body);
  }

  @Delete(':subject')
  @HttpCode(204)
  @RequireScopes('admin')
  async remove(
    @Param('subject') subject: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.totp.remove(subject, actorOf(principal));
  }
}
