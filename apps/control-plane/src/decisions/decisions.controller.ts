import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  decisionIdSchema,
  decisionTimelineQuerySchema,
  decisionsQuerySchema,
  shadowReportQuerySchema,
  timeRangeQuerySchema,
  type DecisionTimelineQuery,
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

  @Get('decisions/timeline')
  timeline(
    @Query(new ZodValidationPipe(decisionTimelineQuerySchema, 'query'))
    query: DecisionTimelineQuery,
  ) {
    return this.decisions.timeline(query);
  }

  // After the fixed paths above: "stats" and "timeline" are not decision ids.
  @Get('decisions/:id')
  get(@Param('id', new ZodValidationPipe(decisionIdSchema, 'decision id')) id: string) {
    return this.decisions.get(id);
  }

  @Get('shadow/report')
  shadowReport(
    @Query(new ZodValidationPipe(shadowReportQuerySchema, 'query')) query: ShadowReportQuery,
  ) {
    return this.shadow.report(query);
  }
}
