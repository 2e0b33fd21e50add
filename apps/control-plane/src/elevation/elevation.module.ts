import { Module } from '@nestjs/common';
import { secretBoxProvider } from '../common/secret-box.provider.js';
import { GrantsModule } from '../grants/grants.module.js';
import { TotpController } from './totp.controller.js';
import { FactorEnrolment } from './factor-enrolment.js';
import { TotpService } from './totp.service.js';
import { WebAuthnChallenges } from './webauthn-challenges.js';
import { WebAuthnController } from './webauthn.controller.js';
import { WebAuthnService } from './webauthn.service.js';

/** Built-in elevation (TOTP, WebAuthn): a verified second factor becomes a signed grant. */
@Module({
  imports: [GrantsModule],
  controllers: [TotpController, WebAuthnController],
  providers: [TotpService, WebAuthnService, WebAuthnChallenges, FactorEnrolment, secretBoxProvider],
})
export class ElevationModule {}
