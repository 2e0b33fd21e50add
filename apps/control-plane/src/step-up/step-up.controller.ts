import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { checkBodySchema, type CheckBody, type CheckResponse } from '@stepgate/protocol';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { AcceptsIdTokens, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StepUpCheckService } from './step-up-check.service.js';

@Controller('v1')
export class StepUpController {
  constructor(private readonly checks: StepUpCheckService) {}

  /**
   * Decides with the active policies for the caller's verified principal (token subject, or a
   * CI job's ID token) and its grants, as an agent would.
   */
  @Post('check')
  @HttpCode(200)
  @RequireScopes('viewer', 'operator', 'approver', 'check:any')
  @AcceptsIdTokens()
  check(
    @Body(new ZodValidationPipe(checkBodySchema)) body: CheckBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CheckResponse> {
    return this.checks.checkFor(principal, body);
  }
}
