import { Inject, Injectable } from '@nestjs/common';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { StepgateError, type GrantScope, type GrantView } from '@stepgate/protocol';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../common/scopes.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { GrantsService } from '../grants/grants.service.js';
import { elevationGrant, scopeOf } from './elevation-grant.js';
import { EnrolmentCodesService } from './enrolment-codes.service.js';
import { FactorEnrolment } from './factor-enrolment.js';
import { WebAuthnChallenges } from './webauthn-challenges.js';
import { authenticationResponse, registrationResponse } from './webauthn-response.js';
import { WebAuthnRepository } from './webauthn.repository.js';

export interface WebAuthnCredentialView {
  id: string;
  subject: string;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  createdAt: string;
}

/**
 * WebAuthn elevation: register authenticators (public keys only; a first one needs an
 * enrolment code, used when the registration completes; registering grants nothing) and turn a
 * user-verified assertion into a grant. Ceremonies need user verification (PIN or biometrics),
 * so an accepted assertion proves `hwk` + `user` (RFC 8176).
 */
@Injectable()
export class WebAuthnService {
  constructor(
    private readonly repository: WebAuthnRepository,
    private readonly audit: AuditService,
    private readonly grants: GrantsService,
    private readonly challenges: WebAuthnChallenges,
    private readonly enrolment: FactorEnrolment,
    private readonly codes: EnrolmentCodesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async registrationOptions(
    principal: Principal,
    enrolmentCode?: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { rpId, rpName, challengeTtlSeconds } = this.config.elevation;
    const subject = principal.subject;
    // Checked, not used: a cancelled browser prompt must not burn the code.
    const proof = await this.enrolment.authorize(principal, 'webauthn', enrolmentCode, false);
    const existing = await this.repository.credentialsOf(subject);
    const options = await generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: subject,
      // Stable per subject (a hash, not the name) so a discoverable credential replaces its own.
      userID: createHash('sha256').update(`stepgate:${subject}`).digest(),
      attestationType: 'none',
      timeout: challengeTtlSeconds * 1000,
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
      authenticatorSelection: { userVerification: 'required', residentKey: 'preferred' },
    });
    const expiresAt = await this.challenges.remember(
      options.challenge,
      subject,
      'registration',
      proof.kind === 'first' ? { enrolmentCodeId: proof.codeId } : undefined,
    );
    await this.audit.record({
      actor: actorOf(principal),
      action: 'elevation.webauthn.registration_options',
      target: subject,
      details: { expiresAt: expiresAt.toISOString() },
    });
    return options;
  }

  async register(
    principal: Principal,
    body: Record<string, unknown>,
  ): Promise<WebAuthnCredentialView> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const { json, clientDataJSON } = registrationResponse(body);
    const { challenge, data } = await this.challenges.claim(
      clientDataJSON,
      subject,
      'registration',
    );
    const { rpId, origins } = this.config.elevation;
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: json,
        expectedChallenge: challenge,
        expectedOrigin: origins,
        expectedRPID: rpId,
        requireUserVerification: true,
      });
    } catch (error) {
      return this.refuse(actor, subject, 'elevation.webauthn.registration_failure', error);
    }
    if (!verified.verified) {
      return this.refuse(
        actor,
        subject,
        'elevation.webauthn.registration_failure',
        'attestation did not verify',
      );
    }
    // A first factor: its enrolment code is used now that the ceremony succeeded (once only).
    if (typeof data.enrolmentCodeId === 'string')
      await this.codes.use({ id: data.enrolmentCodeId }, subject, actor, 'webauthn');
    const info = verified.registrationInfo;
    const transports = info.credential.transports ?? [];
    try {
      const row = await this.repository.createCredential({
        id: info.credential.id,
        subject,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: BigInt(info.credential.counter),
        transports,
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
      });
      await this.audit.record({
        actor,
        action: 'elevation.webauthn.register',
        target: subject,
        details: { credentialId: row.id, aaguid: info.aaguid, fmt: info.fmt },
      });
      return {
        id: row.id,
        subject,
        transports: row.transports,
        deviceType: row.deviceType,
        backedUp: row.backedUp,
        createdAt: row.createdAt.toISOString(),
      };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'P2002') throw error;
      throw new StepgateError(
        'elevation/already_enrolled',
        `credential ${info.credential.id} is already registered`,
      );
    }
  }

  async authenticationOptions(
    principal: Principal,
    scope: GrantScope,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const subject = principal.subject;
    const credentials = await this.repository.credentialsOf(subject);
    if (credentials.length === 0) {
      throw new StepgateError(
        'elevation/not_enrolled',
        `${subject} has no WebAuthn credential; register one with POST /v1/elevation/webauthn/registration/options`,
      );
    }
    const { rpId, challengeTtlSeconds } = this.config.elevation;
    const options = await generateAuthenticationOptions({
      rpID: rpId,
      allowCredentials: credentials.map((c) => ({ id: c.id, transports: c.transports })),
      userVerification: 'required',
      timeout: challengeTtlSeconds * 1000,
    });
    const asked = scopeOf(scope);
    const expiresAt = await this.challenges.remember(
      options.challenge,
      subject,
      'authentication',
      asked,
    );
    await this.audit.record({
      actor: actorOf(principal),
      action: 'elevation.webauthn.prompt',
      target: subject,
      details: { ...asked, expiresAt: expiresAt.toISOString() },
    });
    return options;
  }

  async authenticate(principal: Principal, body: Record<string, unknown>): Promise<GrantView> {
    const subject = principal.subject;
    const actor = actorOf(principal);
    const { json, credentialId, clientDataJSON } = authenticationResponse(body);
    // Claimed before any check, so a failed attempt cannot be retried against the same challenge.
    const { challenge, data } = await this.challenges.claim(
      clientDataJSON,
      subject,
      'authentication',
    );
    const scope = data as GrantScope;
    const credential = await this.repository.credential(credentialId);
    if (!credential || credential.subject !== subject) {
      return this.refuse(actor, subject, 'elevation.webauthn.failure', 'unknown credential', {
        credentialId,
      });
    }
    const { rpId, origins } = this.config.elevation;
    let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      result = await verifyAuthenticationResponse({
        response: json,
        expectedChallenge: challenge,
        expectedOrigin: origins,
        expectedRPID: rpId,
        requireUserVerification: true,
        // The counter is checked below, after the signature: only a genuine signature with a
        // stale counter is evidence of a cloned authenticator worth its own audit event.
        credential: {
          id: credential.id,
          publicKey: new Uint8Array(credential.publicKey),
          counter: 0,
          transports: credential.transports,
        },
      });
    } catch (error) {
      return this.refuse(actor, subject, 'elevation.webauthn.failure', error, { credentialId });
    }
    if (!result.verified || !result.authenticationInfo.userVerified) {
      return this.refuse(actor, subject, 'elevation.webauthn.failure', 'signature did not verify', {
        credentialId,
      });
    }
    const stored = credential.counter;
    const counter = BigInt(result.authenticationInfo.newCounter);
    if ((counter > 0n || stored > 0n) && counter <= stored) {
      return this.refuse(
        actor,
        subject,
        'elevation.webauthn.clone_suspected',
        `signature counter ${counter} did not increase past ${stored}; the authenticator may be cloned`,
        { credentialId },
      );
    }
    // Conditional on the counter read above, so two assertions racing cannot both pass.
    if (!(await this.repository.advanceCounter(credential.id, stored, counter))) {
      return this.refuse(
        actor,
        subject,
        'elevation.webauthn.failure',
        'the credential was used concurrently',
        { credentialId },
      );
    }
    const authTime = new Date();
    const grant = await this.grants.issue(
      elevationGrant(subject, 'webauthn', ['hwk', 'user'], scope, actor, authTime),
    );
    await this.audit.record({
      actor,
      action: 'elevation.webauthn',
      target: subject,
      details: {
        grantId: grant.id,
        credentialId,
        actions: grant.actions,
        resources: grant.resources,
        expiresAt: grant.expiresAt,
      },
    });
    return grant;
  }

  /** Admin: removes every security key of a subject (lost or stolen); they enrol again. */
  async remove(subject: string, actor: string): Promise<void> {
    const count = await this.repository.deleteCredentials(subject);
    if (count === 0) {
      throw new StepgateError('elevation/not_enrolled', `${subject} has no WebAuthn credential`);
    }
    await this.audit.record({
      actor,
      action: 'elevation.webauthn.delete',
      target: subject,
      details: { credentials: count },
    });
  }

  /** Audits a refused ceremony and throws a 401 saying why (the library's reason, no secrets). */
  private async refuse(
    actor: string,
    subject: string,
    action: string,
    why: unknown,
    details: Record<string, unknown> = {},
  ): Promise<never> {
    const reason =
      why instanceof Error ? why.message : typeof why === 'string' ? why : 'verification failed';
    await this.audit.record({ actor, action, target: subject, details: { ...details, reason } });
    throw new StepgateError('elevation/invalid_code', `WebAuthn refused: ${reason}`);
  }
}
