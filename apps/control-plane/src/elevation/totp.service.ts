import { Inject, Injectable } from '@nestjs/common';
import {
  StepgateError,
  type GrantView,
  type TotpConfirmResponse,
  type TotpElevateRequest,
  type TotpEnrollResponse,
} from '@stepgate/protocol';
import { generateSecret, generateURI, verify } from 'otplib';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../common/scopes.js';
import { SecretBox } from '../common/secret-box.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { GrantsService } from '../grants/grants.service.js';
import { elevationGrant, scopeOf } from './elevation-grant.js';
import { FactorEnrolment } from './factor-enrolment.js';
import type { TotpFactor } from '../generated/prisma/client.js';
import { TotpRepository } from './totp.repository.js';

/** RFC 6238 defaults every authenticator app speaks: SHA-1, 6 digits, 30 s steps. */
const PERIOD_SECONDS = 30;
const ISSUER = 'Stepgate';

type FactorRow = TotpFactor;

type Purpose = 'elevate' | 'replace' | 'confirm';

/**
 * TOTP elevation: enrolment (secret sealed at rest; a first factor needs an enrolment code),
 * confirmation by the first code (which grants nothing), code checks with ±1 step of drift,
 * single use of every time step, and a lockout after repeated wrong codes. Codes and secrets
 * never reach a log or an audit row.
 */
@Injectable()
export class TotpService {
  constructor(
    private readonly repository: TotpRepository,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    private readonly grants: GrantsService,
    private readonly enrolment: FactorEnrolment,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A new secret for the caller; unconfirmed (and useless) until confirmed with its first code. */
  async enroll(
    principal: Principal,
    request: { replace: boolean; code?: string | undefined; enrolmentCode?: string | undefined },
  ): Promise<TotpEnrollResponse> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const existing = await this.repository.bySubject(subject);
    if (existing?.confirmedAt) {
      if (!request.replace) {
        throw new StepgateError(
          'elevation/already_enrolled',
          `${subject} already has a confirmed TOTP factor; to replace it send {"replace": true, "code": "<current code>"}`,
        );
      }
      if (!request.code) {
        throw new StepgateError(
          'request/invalid',
          'replacing a confirmed TOTP factor needs "code": a current code from it',
          [{ path: 'code', message: 'required with replace: true' }],
        );
      }
      // Proves possession of the old factor, under the same replay and lockout rules.
      await this.acceptCode(existing, request.code, actor, 'replace');
    } else {
      // No confirmed TOTP: a first factor needs an enrolment code (used here), a further one
      // (beside a security key) a recent elevation.
      await this.enrolment.authorize(principal, 'totp', request.enrolmentCode, true);
    }
    const secret = generateSecret();
    const sealed = this.box.seal(secret);
    const fresh = {
      secretEncrypted: sealed,
      confirmedAt: null,
      lastUsedStep: null,
      failedAttempts: 0,
      lockedUntil: null,
    };
    await this.repository.upsert(subject, fresh);
    await this.audit.record({
      actor,
      action: 'elevation.totp.enroll',
      target: subject,
      details: { replaced: Boolean(existing), previousConfirmed: Boolean(existing?.confirmedAt) },
    });
    return {
      subject,
      secret,
      otpauthUri: generateURI({ issuer: ISSUER, label: subject, secret, period: PERIOD_SECONDS }),
      confirmed: false,
    };
  }

  /**
   * The first code of a new secret confirms the factor. It grants nothing: enrolling is not an
   * elevation (the person elevates afterwards, with a later code).
   */
  async confirm(principal: Principal, code: string): Promise<TotpConfirmResponse> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const factor = await this.repository.bySubject(subject);
    if (!factor) {
      throw new StepgateError(
        'elevation/not_enrolled',
        `${subject} has no TOTP factor to confirm; enrol first with POST /v1/elevation/totp/enroll`,
      );
    }
    if (factor.confirmedAt) {
      throw new StepgateError(
        'elevation/already_enrolled',
        `the TOTP factor of ${subject} is already confirmed; elevate with POST /v1/elevation/totp`,
      );
    }
    const confirmedAt = await this.acceptCode(factor, code, actor, 'confirm');
    await this.audit.record({ actor, action: 'elevation.totp.confirm', target: subject });
    return { subject, confirmed: true, confirmedAt: confirmedAt.toISOString() };
  }

  /** A current code of a confirmed factor -> a grant. */
  async elevate(principal: Principal, request: TotpElevateRequest): Promise<GrantView> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const factor = await this.repository.bySubject(subject);
    if (!factor) {
      throw new StepgateError(
        'elevation/not_enrolled',
        `${subject} has no TOTP factor; enrol first with POST /v1/elevation/totp/enroll`,
      );
    }
    if (!factor.confirmedAt) {
      throw new StepgateError(
        'elevation/not_enrolled',
        `the TOTP factor of ${subject} is not confirmed yet; confirm it with its first code (POST /v1/elevation/totp/confirm), then elevate with a later one`,
      );
    }
    const authTime = await this.acceptCode(factor, request.code, actor, 'elevate');
    const grant = await this.grants.issue(
      elevationGrant(subject, 'totp', ['otp'], scopeOf(request), actor, authTime),
    );
    await this.audit.record({
      actor,
      action: 'elevation.totp',
      target: subject,
      details: {
        grantId: grant.id,
        actions: grant.actions,
        resources: grant.resources,
        expiresAt: grant.expiresAt,
      },
    });
    return grant;
  }

  /** Admin: removes a subject's factor (a lost phone); they enrol again. */
  async remove(subject: string, actor: string): Promise<void> {
    if (!(await this.repository.delete(subject))) {
      throw new StepgateError('elevation/not_enrolled', `${subject} has no TOTP factor`);
    }
    await this.audit.record({ actor, action: 'elevation.totp.delete', target: subject });
  }

  /**
   * Checks a code and consumes its time step, or records the failure and throws. Returns the
   * moment of acceptance. The step is claimed with a conditional update, so one code sent
   * twice at once passes once.
   */
  private async acceptCode(
    factor: FactorRow,
    code: string,
    actor: string,
    purpose: Purpose,
  ): Promise<Date> {
    const subject = factor.subject;
    const now = new Date();
    if (factor.lockedUntil && factor.lockedUntil > now) {
      await this.audit.record({
        actor,
        action: 'elevation.totp.failure',
        target: subject,
        details: { reason: 'locked', purpose, lockedUntil: factor.lockedUntil.toISOString() },
      });
      throw this.throttled(factor.lockedUntil, now);
    }
    const result = await verify({
      secret: this.box.open(factor.secretEncrypted),
      token: code,
      period: PERIOD_SECONDS,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: PERIOD_SECONDS,
    });
    // The union also covers HOTP results, which carry no time step.
    if (!result.valid || !('timeStep' in result)) {
      return this.fail(factor, actor, purpose, 'wrong_code', now);
    }
    const step = BigInt(result.timeStep);
    if (factor.lastUsedStep !== null && step <= factor.lastUsedStep) {
      return this.fail(factor, actor, purpose, 'replay', now);
    }
    if (!(await this.repository.claimStep(factor, step, now)))
      return this.fail(factor, actor, purpose, 'replay', now);
    return now;
  }

  /** Counts a failure atomically, locks at the limit, audits, and throws 401 or 429. */
  private async fail(
    factor: FactorRow,
    actor: string,
    purpose: Purpose,
    reason: 'wrong_code' | 'replay',
    now: Date,
  ): Promise<never> {
    const { totpMaxFailures, totpLockoutSeconds } = this.config.elevation;
    const rows = await this.repository.countFailure(
      factor.subject,
      totpMaxFailures,
      totpLockoutSeconds,
    );
    const failed = Number(rows[0]?.failed ?? 0);
    const locked = rows[0] !== undefined && failed === 0 && rows[0].lockedUntil !== null;
    const lockUntil = locked ? new Date(rows[0]?.lockedUntil as Date | string) : now;
    await this.audit.record({
      actor,
      action: 'elevation.totp.failure',
      target: factor.subject,
      details: { reason, purpose, failedAttempts: locked ? totpMaxFailures : failed },
    });
    if (locked) {
      await this.audit.record({
        actor,
        action: 'elevation.totp.locked',
        target: factor.subject,
        details: { lockedUntil: lockUntil.toISOString(), failures: totpMaxFailures },
      });
      throw this.throttled(lockUntil, now);
    }
    throw new StepgateError(
      'elevation/invalid_code',
      reason === 'replay'
        ? 'this code was already used; wait for the next code of your authenticator app'
        : 'wrong TOTP code; check the clock of the device with the authenticator app',
      { remainingAttempts: Math.max(0, totpMaxFailures - failed) },
    );
  }

  private throttled(until: Date, now: Date): StepgateError {
    // Capped by the lockout: the database's clock may run a few milliseconds ahead of ours.
    const retryAfterSeconds = Math.min(
      this.config.elevation.totpLockoutSeconds,
      Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
    );
    return new StepgateError(
      'elevation/throttled',
      `too many wrong TOTP codes; try again after ${until.toISOString()} (in ${retryAfterSeconds}s)`,
      { retryAfterSeconds, lockedUntil: until.toISOString() },
    );
  }
}
