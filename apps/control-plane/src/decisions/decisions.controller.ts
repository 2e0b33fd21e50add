import { Controller, Get, Query } from '@nestjs/common';
import {
  decisionsQuerySchema,
  shadowReportQuerySchema,
  timeRangeQuerySchema,
  type DecisionsQuery,
  type ShadowReportQuery,
  type TimeRangeQuery,
} from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { DecisionsService } from './decisions.service.js';
import { ShadowReportService } from './shadow-report.service.js';

@Controller('v1')
@RequireScopes('viewer', 'operator')
export class DecisionsController {
  constructor(
    private readonly decisions: DecisionsService,
    private readonly shadow: ShadowReportService,
  ) {}

  @Get('decisions')
  list(@Query(new ZodValidationPipe(decisionsQuerySchema, 'query')) query: DecisionsQuery) {
    return this.decisions.list(query);
  }

  @Get('decisions/stats')
  stats(@Query(new ZodValidationPipe(timeRangeQuerySchema, 'query')) query: TimeRangeQuery) {
    return this.decisions.stats(query);
  }

  @Get('shadow/report')
  shadowReport(
    @Query(new ZodValidationPipe(shadowReportQuerySchema, 'query')) query: ShadowReportQuery,
  ) {
    return this.shadow.report(query);
  }
}
