import { Body, Controller, HttpCode, Param, Post, UseInterceptors } from '@nestjs/common';
import {
  totpConfirmRequestSchema,
  totpElevateRequestSchema,
  totpEnrollRequestSchema,
  type GrantView,
  type TotpConfirmResponse,
  type TotpElevateRequest,
  type TotpEnrollResponse,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { HUMAN_SCOPES } from './elevation-grant.js';
import { FactorRemoval } from './factor-resource.js';
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
  ): Promise<TotpEnrollResponse> {
    return this.totp.enroll(principal, body);
  }

  /** The new factor's first code confirms it; no grant (elevate afterwards). */
  @Post('confirm')
  @HttpCode(200)
  @RequireScopes(...HUMAN_SCOPES)
  confirm(
    @Body(new ZodValidationPipe(totpConfirmRequestSchema))
    body: z.infer<typeof totpConfirmRequestSchema>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TotpConfirmResponse> {
    return this.totp.confirm(principal, body.code);
  }

  @Post()
  @RequireScopes(...HUMAN_SCOPES)
  elevate(
    @Body(new ZodValidationPipe(totpElevateRequestSchema)) body: TotpElevateRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GrantView> {
    return this.totp.elevate(principal, body);
  }

  /**
   * Removes a subject's factor (a lost phone). Without a factor the subject can enrol a new one
   * with an enrolment code, so this decides who can act: a protected admin action
   * (`stepgate:factors:delete` on `factors/<subject>`).
   */
  @FactorRemoval()
  async remove(
    @Param('subject') subject: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.totp.remove(subject, actorOf(principal));
  }
}
