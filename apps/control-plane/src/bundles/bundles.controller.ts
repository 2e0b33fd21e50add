import { Controller, Get } from '@nestjs/common';
import { Public, RequireScopes } from '../common/scopes.js';
import { BundleService } from './bundle.service.js';
import { SigningKeyService } from './signing-key.service.js';

@Controller('v1')
export class BundlesController {
  constructor(
    private readonly bundles: BundleService,
    private readonly keys: SigningKeyService,
  ) {}

  @Get('bundles/active')
  @RequireScopes('agent', 'viewer', 'operator')
  active() {
    return this.bundles.current('active');
  }

  @Get('bundles/shadow')
  @RequireScopes('agent', 'viewer', 'operator')
  shadow() {
    return this.bundles.current('shadow');
  }

  /** Public keys only; anyone may fetch them to verify bundles. */
  @Get('keys')
  @Public()
  keysJwks() {
    return this.keys.publicKeys();
  }
}
