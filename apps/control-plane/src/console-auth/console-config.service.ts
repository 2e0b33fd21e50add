import { Injectable } from '@nestjs/common';
import { StepgateError, type ConsoleConfigResponse } from '@stepgate/protocol';
import { JwksFetchError } from '../issuer-keys/jwks-fetch.js';
import { ActiveConsoleSettingsService } from './active-console-settings.service.js';
import { ConsoleProviderService } from './console-provider.service.js';

/** What the console's sign-in page needs: the issuer, the client and the provider's endpoints. */
@Injectable()
export class ConsoleConfigService {
  constructor(
    private readonly settings: ActiveConsoleSettingsService,
    private readonly provider: ConsoleProviderService,
  ) {}

  /** @throws StepgateError `service/unavailable` while the issuer's discovery cannot be read. */
  async config(): Promise<ConsoleConfigResponse> {
    const oidc = await this.settings.oidc();
    if (!oidc) return { oidc: null };
    try {
      const metadata = await this.provider.metadata(oidc.issuer);
      return {
        oidc: {
          issuer: oidc.issuer,
          clientId: oidc.clientId,
          scopes: oidc.scopes,
          authorizationEndpoint: metadata.authorizationEndpoint,
          tokenEndpoint: metadata.tokenEndpoint,
          endSessionEndpoint: metadata.endSessionEndpoint,
        },
      };
    } catch (error) {
      if (!(error instanceof JwksFetchError)) throw error;
      throw new StepgateError(
        'service/unavailable',
        `OIDC sign-in is configured but ${oidc.issuer} cannot be reached (${error.message}); sign in with an API token meanwhile`,
      );
    }
  }
}
