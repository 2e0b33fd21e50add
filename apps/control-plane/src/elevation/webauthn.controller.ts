import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  webauthnAuthenticationOptionsRequestSchema,
  webauthnRegistrationOptionsRequestSchema,
  webauthnResponseRequestSchema,
  type GrantScope,
  type GrantView,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { HUMAN_SCOPES } from './elevation-grant.js';
import { FactorRemoval } from './factor-resource.js';
import { WebAuthnService } from './webauthn.service.js';

type ResponseBody = z.infer<typeof webauthnResponseRequestSchema>;

@Controller('v1/elevation/webauthn')
@RequireScopes(...HUMAN_SCOPES)
export class WebAuthnController {
  constructor(private readonly webauthn: WebAuthnService) {}

  /**
   * PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create(); a first factor
   * needs `{enrolmentCode}`, a further one a recent elevation.
   */
  @Post('registration/options')
  @HttpCode(200)
  registrationOptions(
    @Body(new ZodValidationPipe(webauthnRegistrationOptionsRequestSchema))
    body: z.infer<typeof webauthnRegistrationOptionsRequestSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.webauthn.registrationOptions(principal, body.enrolmentCode);
  }

  @Post('registration')
  register(
    @Body(new ZodValidationPipe(webauthnResponseRequestSchema)) body: ResponseBody,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.webauthn.register(principal, body.response);
  }

  /** PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get(); the scope waits with the challenge. */
  @Post('authentication/options')
  @HttpCode(200)
  authenticationOptions(
    @Body(new ZodValidationPipe(webauthnAuthenticationOptionsRequestSchema)) body: GrantScope,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.webauthn.authenticationOptions(principal, body);
  }

  @Post('authentication')
  authenticate(
    @Body(new ZodValidationPipe(webauthnResponseRequestSchema)) body: ResponseBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<GrantView> {
    return this.webauthn.authenticate(principal, body.response);
  }

  /**
   * Removes every security key of a subject (lost or stolen). Like the TOTP reset it decides
   * who can act: a protected admin action (`stepgate:factors:delete` on `factors/<subject>`).
   */
  @FactorRemoval()
  async remove(
    @Param('subject') subject: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.webauthn.remove(subject, actorOf(principal));
  }
}
