import { Controller, Get, Query } from '@nestjs/common';
import { auditQuerySchema, type AuditQuery, type AuditResponse } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { AuditService } from './audit.service.js';

@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireScopes('viewer', 'operator')
  async list(
    @Query(new ZodValidationPipe(auditQuerySchema, 'query')) query: AuditQuery,
  ): Promise<AuditResponse> {
    return this.audit.list(query);
  }
}
