import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { secretBoxProvider } from '../common/secret-box.provider.js';
import { GrantsModule } from '../grants/grants.module.js';
import { EnrolmentCodesController } from './enrolment-codes.controller.js';
import { EnrolmentCodesRepository } from './enrolment-codes.repository.js';
import { EnrolmentCodesService } from './enrolment-codes.service.js';
import { FactorEnrolment } from './factor-enrolment.js';
import { TotpController } from './totp.controller.js';
import { TotpRepository } from './totp.repository.js';
import { TotpService } from './totp.service.js';
import { WebAuthnChallenges } from './webauthn-challenges.js';
import { WebAuthnController } from './webauthn.controller.js';
import { WebAuthnRepository } from './webauthn.repository.js';
import { WebAuthnService } from './webauthn.service.js';

/**
 * Built-in elevation (TOTP, WebAuthn): a verified second factor becomes a signed grant. A first
 * factor is enrolled with a one-time enrolment code an admin issued (/v1/enrolment-codes).
 */
@Module({
  imports: [GrantsModule, AuditModule],
  controllers: [TotpController, WebAuthnController, EnrolmentCodesController],
  providers: [
    EnrolmentCodesRepository,
    TotpRepository,
    WebAuthnRepository,
    TotpService,
    WebAuthnService,
    WebAuthnChallenges,
    FactorEnrolment,
    EnrolmentCodesService,
    secretBoxProvider,
  ],
})
export class ElevationModule {}
