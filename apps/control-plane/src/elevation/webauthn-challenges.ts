import { Inject, Injectable } from '@nestjs/common';
import { StepgateError, type GrantScope } from '@stepgate/protocol';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { WebAuthnRepository } from './webauthn.repository.js';

export type ChallengePurpose = 'registration' | 'authentication';

/**
 * What waits with a challenge until it is answered: the grant scope asked for (authentication),
 * or the enrolment code a first-factor registration will use when it completes.
 */
export type ChallengeData = GrantScope | { enrolmentCodeId: string };

/**
 * Outstanding WebAuthn challenges in Postgres (any replica can finish a ceremony another one
 * started). Each is bound to one subject and purpose, expires quickly, and is deleted by the
 * first attempt to answer it, whatever that attempt's outcome.
 */
@Injectable()
export class WebAuthnChallenges {
  constructor(
    private readonly repository: WebAuthnRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async remember(
    challenge: string,
    subject: string,
    purpose: ChallengePurpose,
    data?: ChallengeData,
  ): Promise<Date> {
    const now = Date.now();
    // Expired challenges are useless; sweeping them here keeps the table small without a job.
    await this.repository.deleteExpiredChallenges(new Date(now));
    const expiresAt = new Date(now + this.config.elevation.challengeTtlSeconds * 1000);
    await this.repository.createChallenge({
      challenge,
      subject,
      purpose,
      expiresAt,
      ...(data ? { scope: data } : {}),
    });
    return expiresAt;
  }

  /**
   * Consumes the challenge a response answers; throws `elevation/challenge_invalid` unless it
   * is an unexpired, unused challenge of this subject for this purpose. Returns what waited
   * with it (see ChallengeData; `{}` when nothing).
   */
  async claim(
    clientDataJSON: string,
    subject: string,
    purpose: ChallengePurpose,
  ): Promise<{ challenge: string; data: Record<string, unknown> }> {
    const challenge = challengeOf(clientDataJSON);
    const row = await this.repository.challenge(challenge);
    // Only the owner's attempt deletes it: nobody can burn another subject's challenge.
    const deleted = await this.repository.deleteChallenge(challenge, subject, purpose);
    if (!row || !deleted || row.subject !== subject || row.purpose !== purpose) {
      throw new StepgateError(
        'elevation/challenge_invalid',
        `the ${purpose} response answers no outstanding challenge of ${subject} (unknown, already used, or issued to someone else); request new options`,
      );
    }
    if (row.expiresAt.getTime() <= Date.now()) {
      throw new StepgateError(
        'elevation/challenge_invalid',
        `the ${purpose} challenge expired at ${row.expiresAt.toISOString()}; request new options`,
      );
    }
    return { challenge, data: (row.scope ?? {}) as Record<string, unknown> };
  }
}

/** The challenge inside a response's clientDataJSON, or a 400 saying what is malformed. */
function challengeOf(clientDataJSON: string): string {
  try {
    const challenge = decodeClientDataJSON(clientDataJSON).challenge;
    if (typeof challenge === 'string' && challenge.length > 0 && challenge.length <= 512)
      return challenge;
  } catch {
    // reported below
  }
  throw new StepgateError(
    'request/invalid',
    'response.response.clientDataJSON must be the base64url client data JSON holding a challenge',
    [{ path: 'response.response.clientDataJSON', message: 'not base64url client data JSON' }],
  );
}
