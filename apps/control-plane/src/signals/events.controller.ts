import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { StepgateError, type EventsIngestResponse } from '@stepgate/protocol';
import type { Request, Response } from 'express';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { RequireScopes, type Principal } from '../common/scopes.js';
import { SignalsService } from './signals.service.js';

/** `POST /v1/events`: security events for risk signals (plain JSON or CloudEvents 1.0). */
@Controller('v1/events')
export class EventsController {
  constructor(private readonly signals: SignalsService) {}

  @Post()
  @HttpCode(200)
  @RequireScopes('events')
  async ingest(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<EventsIngestResponse> {
    try {
      return await this.signals.ingest({
        tokenId: principal.tokenId,
        contentType: request.headers['content-type'],
        body: request.body,
      });
    } catch (error) {
      // RFC 9110: a 429 says when to retry, for clients that read only headers.
      const retry = (error as StepgateError).details as { retryAfterSeconds?: number } | undefined;
      if (
        error instanceof StepgateError &&
        error.code === 'events/rate_limited' &&
        retry?.retryAfterSeconds
      )
        response.setHeader('Retry-After', String(retry.retryAfterSeconds));
      throw error;
    }
  }
}
