import { Controller, Get, Param } from '@nestjs/common';
import { signalSubjectSchema, type SubjectSignalsResponse } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { SignalsService } from './signals.service.js';

/** `GET /v1/signals/{subject}`: a subject's current risk-signal values. */
@Controller('v1/signals')
export class SignalsController {
  constructor(private readonly signals: SignalsService) {}

  /** The subject is URL-encoded in the path (Express decodes it). */
  @Get(':subject')
  @RequireScopes('viewer', 'operator')
  subject(
    @Param('subject', new ZodValidationPipe(signalSubjectSchema, 'subject')) subject: string,
  ): Promise<SubjectSignalsResponse> {
    return this.signals.subject(subject);
  }
}
