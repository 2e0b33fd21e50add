import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { checkRequestSchema, type CheckRequest, type CheckResponse } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StepUpCheckService } from './step-up-check.service.js';

@Controller('v1')
export class StepUpController {
  constructor(private readonly checks: StepUpCheckService) {}

  /** Decides with the active policies and the principal's grants, as an agent would. */
  @Post('check')
  @HttpCode(200)
  @RequireScopes('viewer', 'operator', 'approver')
  check(
    @Body(new ZodValidationPipe(checkRequestSchema)) body: CheckRequest,
  ): Promise<CheckResponse> {
    return this.checks.check(body);
  }
}
