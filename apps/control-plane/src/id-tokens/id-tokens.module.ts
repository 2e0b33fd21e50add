import { Module } from '@nestjs/common';
import { IssuerKeysModule } from '../issuer-keys/issuer-keys.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { IdTokenService } from './id-token.service.js';

/**
 * OIDC tokens of the issuers the active policies trust (`issuers:` in stepgate.yaml), as the
 * identity of a CI job or a person on the routes marked @AcceptsIdTokens(): imported by
 * AuthModule, whose global guard asks it.
 */
@Module({
  imports: [LiveStateModule, VersionsModule, IssuerKeysModule],
  providers: [IdTokenService],
  exports: [IdTokenService],
})
export class IdTokensModule {}
