import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  webauthnAuthenticationOptionsRequestSchema,
  webauthnResponseRequestSchema,
  type GrantScope,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { RequireScopes, type Principal } from '../auth/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { HUMAN_SCOPES } from './elevation-grant.js';
import { WebAuthnService } from './webauthn.service.js';

type ResponseBody = z.infer<typeof webauthnResponseRequestSchema>;

@Controller('v1/elevation/webauthn')
@RequireScopes(...HUMAN_SCOPES)
export class WebAuthnController {
  constructor(private readonly webauthn: WebAuthnService) {}

  /** PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create(). */
  @Post('registration/options')
  @HttpCode(200)
  registrationOptions(@CurrentPrincipal() principal: Principal) {
    return this.webauthn.registrationOptions(principal);
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
  ) {
    return this.webauthn.authenticate(principal, body.response);
  }
}
