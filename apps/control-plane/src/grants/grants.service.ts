import { Inject, Injectable } from '@nestjs/common';
import type { GrantEvidence } from '@stepgate/policy';
import { signGrant, StepgateError, type GrantView, type GrantsQuery } from '@stepgate/protocol';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, hasScope, type Principal } from '../common/scopes.js';
import { SigningKeyService } from '../bundles/signing-key.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { Transactions, type Transaction } from '../database/transaction.js';
import { buildGrantClaims, grantEvidenceFor, toGrantView } from './grant-claims.js';
import { GrantEvents } from './grant-events.js';
import { GrantsRepository } from './grants.repository.js';

/** What an elevation or a completed approval asks the grants service to issue. */
export interface IssueGrantInput {
  subject: string;
  kind: 'elevation' | 'approval';
  /** totp | webauthn | approval */
  method: string;
  /** RFC 8176 methods proven (`otp`, `hwk`, `user`); empty for approvals. */
  amr: string[];
  level?: string;
  authTime: Date;
  /** Approvers' subjects (approval grants). */
  approvals: string[];
  /** Glob patterns; default ['**'] / ['**'] (everything: `*` alone stops at `/`). */
  actions?: string[];
  resources?: string[];
  /** The one resource kind it applies to (approval grants: the approved resource's kind). */
  resourceKind?: string;
  /** Requested lifetime, capped by configuration. */
  ttlSeconds?: number;
  /** Audit actor, e.g. `token:alice`. */
  actor: string;
  approvalRequestId?: string;
}

/** The most grants a connecting agent receives (the wire schema's limit). */
const MAX_FULL_SET = 10_000;

/**
 * Elevation grants in force one subject may hold. Agents match a subject's every grant
 * against each of its requests that needs a step-up, so without a cap one person could mint
 * grants (an elevation every TOTP step, every WebAuthn assertion) until each of their requests
 * costs seconds, and crowd everyone else out of the full set a connecting agent receives.
 * Approval grants are not capped: other people issue them, one request at a time.
 */
export const GRANTS_PER_SUBJECT = 16;

/**
 * Issues signed grants (bundle-signing key, so agents already trust them), lists and revokes
 * them, announces every change to agents, and gives the control plane's own checks the
 * evidence a subject's grants amount to.
 */
@Injectable()
export class GrantsService {
  constructor(
    private readonly repository: GrantsRepository,
    private readonly transactions: Transactions,
    private readonly keys: SigningKeyService,
    private readonly audit: AuditService,
    private readonly events: GrantEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Signs (bundle key), stores, audits (`grant.issue`) and pushes to every agent. */
  async issue(input: IssueGrantInput): Promise<GrantView> {
    const view = await this.issueWith(undefined, input);
    this.announce(view);
    return view;
  }

  /**
   * Signs, stores and audits, in `tx` when given (for approvals: the grant exists exactly when
   * the request is approved). The caller announces it after commit.
   */
  async issueWith(
    tx: Transaction | undefined,
    input: IssueGrantInput,
    now: Date = new Date(),
  ): Promise<GrantView> {
    if (input.kind === 'elevation') {
      const held = await this.repository.countElevationsInForce(input.subject, now, tx);
      if (held >= GRANTS_PER_SUBJECT)
        throw new StepgateError(
          'grant/too_many',
          `"${input.subject}" already holds ${held} elevation grants in force, the most one subject may hold; revoke one (stepgate grants revoke <id>, or DELETE /v1/grants/<id>) or wait until one expires`,
          { subject: input.subject, held, limit: GRANTS_PER_SUBJECT },
        );
    }
    const claims = buildGrantClaims(
      {
        id: randomUUID(),
        subject: input.subject,
        kind: input.kind,
        amr: input.amr,
        ...(input.level ? { level: input.level } : {}),
        authTime: input.authTime,
        approvals: input.approvals,
        ...(input.actions ? { actions: input.actions } : {}),
        ...(input.resources ? { resources: input.resources } : {}),
        ...(input.resourceKind !== undefined ? { resourceKind: input.resourceKind } : {}),
        ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}),
      },
      now,
      { defaultSeconds: this.config.grantTtlSeconds, maxSeconds: this.config.grantMaxTtlSeconds },
    );
    const jws = await signGrant(claims, this.keys.current());
    const row = await this.repository.create(
      {
        id: claims.id,
        subject: claims.subject,
        kind: claims.kind,
        method: input.method,
        amr: claims.amr,
        level: claims.level ?? null,
        authTime: new Date(claims.authTime),
        approvals: claims.approvals,
        actions: claims.actions,
        resources: claims.resources,
        jws,
        issuedAt: new Date(claims.issuedAt),
        expiresAt: new Date(claims.expiresAt),
        createdBy: input.actor,
        approvalRequestId: input.approvalRequestId ?? null,
      },
      tx,
    );
    await this.audit.record(
      {
        actor: input.actor,
        action: 'grant.issue',
        target: `grant:${claims.id}`,
        details: {
          subject: claims.subject,
          kind: claims.kind,
          method: input.method,
          amr: claims.amr,
          level: claims.level ?? null,
          approvals: claims.approvals,
          actions: claims.actions,
          resources: claims.resources,
          expiresAt: claims.expiresAt,
          ...(input.approvalRequestId ? { approvalRequestId: input.approvalRequestId } : {}),
        },
      },
      tx,
    );
    return toGrantView(row);
  }

  /** Pushes an issued grant to every agent (call after its transaction committed). */
  announce(view: GrantView): void {
    if (view.jws) this.events.emitChange({ full: false, grants: [view.jws], revoked: [] });
  }

  /** Grants in force for a subject, matching action and resource (kind and id), as decision evidence for `decideWithGrants`. */
  async evidenceFor(
    subject: string,
    action: string,
    resource: { kind: string; id: string },
    now: Date = new Date(),
  ): Promise<GrantEvidence[]> {
    const rows = await this.repository.inForceFor(subject, now);
    return grantEvidenceFor(rows, action, resource);
  }

  /** Own grants; another subject's (or everyone's) only for operators and admins. */
  async list(principal: Principal, query: GrantsQuery, now = new Date()): Promise<GrantView[]> {
    const subject = query.subject ?? principal.subject;
    if (subject !== principal.subject && !hasScope(principal, ['operator']))
      throw new StepgateError(
        'auth/forbidden',
        `listing the grants of "${subject}" needs the operator or admin scope; without ?subject= you see your own`,
      );
    const rows = await this.repository.list(subject, {
      all: Boolean(query.all),
      now,
      limit: query.limit,
    });
    return rows.map((row) => toGrantView(row));
  }

  /** Revokes at once and tells every agent; revoking a revoked grant changes nothing. */
  async revoke(id: string, principal: Principal, reason?: string): Promise<void> {
    // A database outage is a 503 from the error filter, not a "no such grant".
    const row = await this.repository.byId(id);
    if (!row) throw new StepgateError('grant/not_found', `no grant with id "${id}"`);
    if (row.subject !== principal.subject && !hasScope(principal, ['operator']))
      throw new StepgateError(
        'auth/forbidden',
        `grant ${id} belongs to "${row.subject}": only they, an operator or an admin may revoke it`,
      );
    const actor = actorOf(principal);
    const revoked = await this.transactions.run(async (tx) => {
      // Conditional: two revocations at once record (and broadcast) one.
      if (!(await this.repository.revoke(id, actor, tx))) return false;
      await this.audit.record(
        {
          actor,
          action: 'grant.revoke',
          target: `grant:${id}`,
          ...(reason ? { reason } : {}),
          details: { subject: row.subject, kind: row.kind },
        },
        tx,
      );
      return true;
    });
    if (revoked) this.events.emitChange({ full: false, grants: [], revoked: [id] });
  }

  /** Every grant in force, as agents receive them (the full set a connecting agent gets). */
  async currentJws(now = new Date()): Promise<string[]> {
    return this.repository.jwsInForce(now, MAX_FULL_SET);
  }
}
