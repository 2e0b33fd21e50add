import { Controller, Get, Query } from '@nestjs/common';
import { listQuerySchema, type AuditResponse, type ListQuery } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { AuditService } from './audit.service.js';

@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireScopes('viewer', 'operator')
  async list(
    @Query(new ZodValidationPipe(listQuerySchema, 'query')) query: ListQuery,
  ): Promise<AuditResponse> {
    return { events: await this.audit.list(query.limit, query.action) };
  }
}
