import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { Public } from '../../common/scopes.js';
import { GitHubDeploymentsService } from './github-deployments.service.js';

@Controller('v1/integrations/github')
export class GitHubDeploymentsController {
  constructor(private readonly deployments: GitHubDeploymentsService) {}

  /** No bearer token: GitHub proves itself with X-Hub-Signature-256 over the raw body. */
  @Post('webhook')
  @Public()
  @HttpCode(202)
  receive(@Req() request: RawBodyRequest<Request>) {
    return this.deployments.receive(request.headers, request.rawBody);
  }
}
