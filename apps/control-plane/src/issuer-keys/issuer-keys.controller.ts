import { Controller, Get } from '@nestjs/common';
import { RequireScopes } from '../common/scopes.js';
import { IssuerKeysService } from './issuer-keys.service.js';

@Controller('v1')
export class IssuerKeysController {
  constructor(private readonly issuerKeys: IssuerKeysService) {}

  /** The trusted issuers' keys as last fetched, with fetch failures (never key material). */
  @Get('issuers')
  @RequireScopes('viewer', 'operator')
  issuers() {
    return { issuers: this.issuerKeys.status() };
  }
}
