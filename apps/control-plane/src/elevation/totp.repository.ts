import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma, TotpFactor } from '../generated/prisma/client.js';

/** TOTP factors, one per subject. */
@Injectable()
export class TotpRepository {
  constructor(private readonly prisma: PrismaService) {}

  bySubject(subject: string): Promise<TotpFactor | null> {
    return this.prisma.totpFactor.findUnique({ where: { subject } });
  }

  countConfirmed(subject: string): Promise<number> {
    return this.prisma.totpFactor.count({ where: { subject, confirmedAt: { not: null } } });
  }

  async upsert(
    subject: string,
    fields: Omit<Prisma.TotpFactorUncheckedCreateInput, 'subject'>,
  ): Promise<void> {
    await this.prisma.totpFactor.upsert({
      where: { subject },
      create: { subject, ...fields },
      update: fields,
    });
  }

  /** Deletes the subject's factor; false when there was none. */
  async delete(subject: string): Promise<boolean> {
    const { count } = await this.prisma.totpFactor.deleteMany({ where: { subject } });
    return count > 0;
  }

  /**
   * Consumes time step `step` of the factor with this secret (not locked at `now`, step not
   * used yet), resetting failures and confirming an unconfirmed factor; false when a concurrent
   * request (or re-enrolment) got there first.
   */
  async claimStep(
    factor: Pick<TotpFactor, 'subject' | 'secretEncrypted' | 'confirmedAt'>,
    step: bigint,
    now: Date,
  ): Promise<boolean> {
    const claimed = await this.prisma.totpFactor.updateMany({
      where: {
        subject: factor.subject,
        // A concurrent re-enrolment changed the secret: this code belongs to the old one.
        secretEncrypted: factor.secretEncrypted,
        OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }],
        AND: [{ OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }] }],
      },
      data: {
        lastUsedStep: step,
        failedAttempts: 0,
        lockedUntil: null,
        ...(factor.confirmedAt ? {} : { confirmedAt: now }),
      },
    });
    return claimed.count > 0;
  }

  /**
   * Counts a failure in one statement (so concurrent wrong codes each count), locking for
   * `lockoutSeconds` at `maxFailures`: the counter then restarts at 0, which is how the result
   * tells a locking failure (0) from an ordinary one (>= 1).
   */
  countFailure(subject: string, maxFailures: number, lockoutSeconds: number) {
    return this.prisma.$queryRaw<{ failed: number; lockedUntil: Date | string | null }[]>`
      UPDATE totp_factor SET
        failed_attempts = CASE WHEN failed_attempts + 1 >= ${maxFailures} THEN 0 ELSE failed_attempts + 1 END,
        locked_until = CASE WHEN failed_attempts + 1 >= ${maxFailures}
          THEN now() + make_interval(secs => ${lockoutSeconds}) ELSE locked_until END,
        updated_at = now()
      WHERE subject = ${subject}
      RETURNING failed_attempts AS failed, locked_until AS "lockedUntil"`;
  }
}
