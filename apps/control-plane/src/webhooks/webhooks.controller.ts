import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { Public } from '../common/scopes.js';
import { WebhooksService } from './webhooks.service.js';

@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** No bearer token: a forge proves itself with the HMAC signature or token of the source's secret. */
  @Post(':sourceId')
  @Public()
  @HttpCode(202)
  receive(@Param('sourceId') sourceId: string, @Req() request: RawBodyRequest<Request>) {
    return this.webhooks.receive(sourceId, request.headers, request.rawBody);
  }
}
