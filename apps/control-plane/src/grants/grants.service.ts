import { Injectable } from '@nestjs/common';
import type { AuthEvidence } from '@stepgate/policy';
import type { GrantView } from '@stepgate/protocol';

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
  /** Glob patterns; default ['*'] / ['**'] (everything). */
  actions?: string[];
  resources?: string[];
  /** Requested lifetime, capped by configuration. */
  ttlSeconds?: number;
  /** Audit actor, e.g. `token:alice`. */
  actor: string;
  approvalRequestId?: string;
}

/**
 * CONTRACT SKELETON (owned by the grants helper, who replaces the bodies): issues signed
 * grants, lists and revokes them, pushes them to agents, and gives the control plane's own
 * checks the evidence a subject's grants amount to.
 */
@Injectable()
export class GrantsService {
  /** Signs (bundle key), stores, audits (`grant.issue`) and pushes to every agent. */
  issue(input: IssueGrantInput): Promise<GrantView> {
    void input;
    throw new Error('not implemented yet');
  }

  /** Grants in force for a subject, matching action and resource id, as decision evidence (one entry per grant). */
  evidenceFor(
    subject: string,
    action: string,
    resourceId: string,
    now?: Date,
  ): Promise<AuthEvidence[]> {
    void subject;
    void action;
    void resourceId;
    void now;
    throw new Error('not implemented yet');
  }
}
