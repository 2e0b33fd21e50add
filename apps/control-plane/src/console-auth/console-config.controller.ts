import { Controller, Get } from '@nestjs/common';
import type { ConsoleConfigResponse } from '@stepgate/protocol';
import { Public } from '../common/scopes.js';
import { ConsoleConfigService } from './console-config.service.js';

@Controller('v1/console')
export class ConsoleConfigController {
  constructor(private readonly consoleConfig: ConsoleConfigService) {}

  /** Public: the sign-in page reads it before anyone has a token. Holds nothing secret. */
  @Get('config')
  @Public()
  config(): Promise<ConsoleConfigResponse> {
    return this.consoleConfig.config();
  }
}
