import { Controller, Get } from '@nestjs/common';
import type { DataSourceListResponse } from '@stepgate/protocol';
import { RequireScopes } from '../common/scopes.js';
import { DataSourceStatusService } from './data-source-status.service.js';

@Controller('v1/data-sources')
export class DataSourcesController {
  constructor(private readonly status: DataSourceStatusService) {}

  @Get()
  @RequireScopes('viewer', 'operator', 'data')
  async list(): Promise<DataSourceListResponse> {
    return { sources: await this.status.list() };
  }
}
