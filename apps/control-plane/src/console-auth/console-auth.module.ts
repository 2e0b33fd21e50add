import { Module } from '@nestjs/common';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { ActiveConsoleSettingsService } from './active-console-settings.service.js';
import { ConsoleConfigController } from './console-config.controller.js';
import { ConsoleConfigService } from './console-config.service.js';
import { ConsoleProviderService } from './console-provider.service.js';
import { ConsoleTokenService } from './console-token.service.js';

/**
 * Console sign-in with OIDC: `GET /v1/console/config` and the check of console ID tokens that
 * the global AuthGuard (AuthModule, which imports this) runs for JWT bearers.
 */
@Module({
  imports: [LiveStateModule, VersionsModule],
  controllers: [ConsoleConfigController],
  providers: [
    ActiveConsoleSettingsService,
    ConsoleConfigService,
    ConsoleProviderService,
    ConsoleTokenService,
  ],
  exports: [ConsoleTokenService],
})
export class ConsoleAuthModule {}
