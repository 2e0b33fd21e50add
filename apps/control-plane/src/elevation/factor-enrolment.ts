import { Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../common/scopes.js';
import { EnrolmentCodesService, type Factor } from './enrolment-codes.service.js';
import { GrantsRepository } from '../grants/grants.repository.js';
import { TotpRepository } from './totp.repository.js';
import { WebAuthnRepository } from './webauthn.repository.js';

/** How recent the elevation that vouches for a new factor must be. */
export const ENROLMENT_FRESHNESS_MS = 10 * 60_000;

/**
 * What allowed an enrolment: a further factor, vouched for by a recent elevation, or a first
 * factor with an enrolment code (checked, and for TOTP already used; `codeId` lets a WebAuthn
 * registration use it when the ceremony completes).
 */
export type EnrolmentProof = { kind: 'further' } | { kind: 'first'; codeId: string };

/**
 * Who may add a factor. The API token alone never suffices, or a stolen token (of anyone who has
 * not enrolled yet, or whose factor was just removed) would be worth an elevation:
 * - the first factor of a subject needs a one-time enrolment code an admin issued for that
 *   subject (POST /v1/enrolment-codes), as Teleport's invite and reset tokens do;
 * - every further one needs proof of an existing factor: an elevation grant of the subject's
 *   from the last 10 minutes (a code does not replace it: it is for a first factor only).
 * Replacing a confirmed TOTP secret proves the old one with its code (TotpService).
 * Enrolling grants nothing either way: the person elevates afterwards.
 */
@Injectable()
export class FactorEnrolment {
  constructor(
    private readonly totp: TotpRepository,
    private readonly webauthn: WebAuthnRepository,
    private readonly grants: GrantsRepository,
    private readonly audit: AuditService,
    private readonly codes: EnrolmentCodesService,
  ) {}

  /**
   * @param useCode for a first factor: use the code now (TOTP) or only check it (a WebAuthn
   *   registration uses it when it completes).
   * @throws StepgateError `elevation/enrolment_code_required` / `_invalid` for a first factor,
   *   `auth/step_up_required` for a further one without a recent elevation.
   */
  async authorize(
    principal: Principal,
    factor: Factor,
    enrolmentCode: string | undefined,
    useCode: boolean,
    now = new Date(),
  ): Promise<EnrolmentProof> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const [totp, keys] = await Promise.all([
      this.totp.countConfirmed(subject),
      this.webauthn.countCredentials(subject),
    ]);
    if (totp + keys > 0) {
      await this.assertRecentElevation(principal, factor, enrolmentCode !== undefined, now);
      return { kind: 'further' };
    }
    if (enrolmentCode === undefined) {
      await this.refused(actor, subject, factor, 'first factor without an enrolment code');
      throw new StepgateError(
        'elevation/enrolment_code_required',
        `${subject} has no factor yet, and the first one needs a one-time enrolment code beyond the API token: ask an admin for one (\`stepgate enrolment-codes create ${subject}\`), then run \`stepgate elevate --enroll --code <code>\``,
      );
    }
    const codeId = useCode
      ? await this.codes.use({ code: enrolmentCode }, subject, actor, factor)
      : await this.codes.check(enrolmentCode, subject, actor, factor);
    return { kind: 'first', codeId };
  }

  private async assertRecentElevation(
    principal: Principal,
    factor: Factor,
    sentCode: boolean,
    now: Date,
  ): Promise<void> {
    const subject = principal.subject;
    const recent = await this.grants.countElevationsInForce(
      subject,
      now,
      undefined,
      new Date(now.getTime() - ENROLMENT_FRESHNESS_MS),
    );
    if (recent > 0) return;
    await this.refused(
      actorOf(principal),
      subject,
      factor,
      'existing factor, no elevation in the last 10 minutes',
    );
    throw new StepgateError(
      'auth/step_up_required',
      `${subject} already has a second factor; adding another needs proof of it: elevate with it first (\`npx stepgate elevate\` for TOTP, or a security-key authentication), then enrol within 10 minutes${sentCode ? ' (an enrolment code is for a first factor only; if the factor is lost, an admin removes it first)' : ''}`,
      { require: { maxAge: ENROLMENT_FRESHNESS_MS / 1000 } },
    );
  }

  private async refused(actor: string, subject: string, factor: Factor, why: string) {
    await this.audit.record({
      actor,
      action: 'elevation.enrol.refused',
      target: subject,
      details: { factor, why },
    });
  }
}
