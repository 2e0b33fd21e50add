import { Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../auth/scopes.js';
import { PrismaService } from '../database/prisma.service.js';

/** How recent the elevation that vouches for a new factor must be. */
export const ENROLMENT_FRESHNESS_MS = 10 * 60_000;

/**
 * Who may add a second factor. The first factor of a subject is enrolled with the API token
 * alone (trust on first use, audited); every further one needs proof of an existing factor:
 * an elevation grant of the subject's from the last 10 minutes. Otherwise a stolen token
 * could register the thief's own authenticator and step up with it, and step-up would add
 * nothing over the token. Replacing a confirmed TOTP secret proves the old one with its code.
 */
@Injectable()
export class FactorEnrolment {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
  ) {}

  /** @throws StepgateError auth/step_up_required when the subject has a factor and no recent elevation. */
  async assertMayEnrol(
    principal: Principal,
    factor: 'totp' | 'webauthn',
    now = new Date(),
  ): Promise<void> {
    const subject = principal.subject;
    const [totp, keys] = await Promise.all([
      this.prisma.totpFactor.count({ where: { subject, confirmedAt: { not: null } } }),
      this.prisma.webAuthnCredential.count({ where: { subject } }),
    ]);
    if (totp + keys === 0) return;
    const recent = await this.prisma.grant.count({
      where: {
        subject,
        kind: 'elevation',
        revokedAt: null,
        expiresAt: { gt: now },
        authTime: { gte: new Date(now.getTime() - ENROLMENT_FRESHNESS_MS) },
      },
    });
    if (recent > 0) return;
    await this.audit.record({
      actor: actorOf(principal),
      action: 'elevation.enrol.refused',
      target: subject,
      details: { factor, why: 'existing factor, no elevation in the last 10 minutes' },
    });
    throw new StepgateError(
      'auth/step_up_required',
      `${subject} already has a second factor; adding another needs proof of it: elevate with it first (\`npx stepgate elevate\` for TOTP, or a security-key authentication), then enrol within 10 minutes`,
      { require: { maxAge: ENROLMENT_FRESHNESS_MS / 1000 } },
    );
  }
}
