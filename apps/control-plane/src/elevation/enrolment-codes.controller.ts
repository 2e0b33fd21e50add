import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  createEnrolmentCodeRequestSchema,
  enrolmentCodesQuerySchema,
  type CreatedEnrolmentCode,
  type CreateEnrolmentCodeRequest,
  type EnrolmentCodesQuery,
  type EnrolmentCodesResponse,
} from '@stepgate/protocol';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import { EnrolmentCodesService } from './enrolment-codes.service.js';

/** `enrolment-codes/<subject>` of the (not yet validated) body, for self-protection policies. */
function codeSubject(request: { body?: unknown }): string {
  const subject = (request.body as { subject?: unknown } | undefined)?.subject;
  return `enrolment-codes/${typeof subject === 'string' ? subject.trim() : ''}`;
}

/**
 * One-time enrolment codes (admin): a person's first factor needs one beyond their API token.
 * Issuing one decides who can elevate, so it is a protected admin action
 * (`stepgate:enrolment-codes:create`); revoking one only takes a possibility away.
 */
@Controller('v1/enrolment-codes')
@RequireScopes('admin')
export class EnrolmentCodesController {
  constructor(private readonly codes: EnrolmentCodesService) {}

  /** The code is in this response only; it is stored as its SHA-256. */
  @Post()
  @StepUpProtected('stepgate:enrolment-codes:create', codeSubject)
  create(
    @Body(new ZodValidationPipe(createEnrolmentCodeRequestSchema)) body: CreateEnrolmentCodeRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedEnrolmentCode> {
    return this.codes.create(body, actorOf(principal));
  }

  /** Unused, unexpired codes (all=true: every one), never the codes themselves. */
  @Get()
  async list(
    @Query(new ZodValidationPipe(enrolmentCodesQuerySchema, 'query')) query: EnrolmentCodesQuery,
  ): Promise<EnrolmentCodesResponse> {
    return { codes: await this.codes.list(query) };
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.codes.revoke(id, actorOf(principal));
  }
}
