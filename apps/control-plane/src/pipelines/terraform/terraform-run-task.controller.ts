import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { Public } from '../../common/scopes.js';
import { TerraformRunTaskService } from './terraform-run-task.service.js';

@Controller('v1/integrations/terraform')
export class TerraformRunTaskController {
  constructor(private readonly runTasks: TerraformRunTaskService) {}

  /** No bearer token: HCP Terraform proves itself with the HMAC-SHA512 signature of the body. */
  @Post('run-task')
  @Public()
  @HttpCode(200)
  receive(@Req() request: RawBodyRequest<Request>) {
    return this.runTasks.receive(request.headers, request.rawBody);
  }
}
