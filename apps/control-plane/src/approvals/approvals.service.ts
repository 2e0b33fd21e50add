import { Inject, Injectable } from '@nestjs/common';
import { InvalidRequestError, type Decision, type DecisionRequest } from '@stepgate/policy';
import {
  StepgateError,
  type ApprovalView,
  type ApprovalsQuery,
  type CreateApprovalRequest,
  type GrantView,
} from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, hasScope, type Principal } from '../common/scopes.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { Transactions, type Transaction } from '../database/transaction.js';
import { hasGlobSyntax } from '../grants/grant-claims.js';
import { GrantsService } from '../grants/grants.service.js';
import { ActiveEngineService } from '../step-up/active-engine.service.js';
import { callerPrincipal } from '../step-up/check-principal.js';
import { DecisionFactsService } from '../step-up/decision-facts.service.js';
import { requiredApprovals } from './approval-requirement.js';
import {
  isDue,
  refusalFor,
  toApprovalView,
  type ApprovalAct,
  type Refusal,
} from './approval-rules.js';
import { ApprovalsRepository } from './approvals.repository.js';

/** Who expires requests nobody touched in time. */
export const EXPIRY_ACTOR = 'system:approval-expiry';

type Outcome = { kind: 'refused'; refusal: Refusal } | { kind: 'decided'; grant?: GrantView };

/**
 * An approval request as the service takes it: the API body (which refuses `principal`), or
 * from a pipeline gate, whose platform verified the principal and which passes the principal's
 * roles, groups and attributes it derived from the policy data and the platform's payload.
 */
export type ApprovalRequestInput = Omit<CreateApprovalRequest, 'principal'> & {
  principal?: {
    roles?: string[];
    groups?: string[];
    attributes?: Record<string, unknown>;
  };
};

/**
 * Approval requests: a requester asks, N distinct other approvers approve (then a grant for
 * exactly that action on exactly that resource, kind included, is issued to the requester),
 * one denial closes it. N is what the active policies require for the request, never the
 * requester's choice. Every decision runs under a row lock on the request, so two approvers
 * acting at the same instant are serialised and at most one grant is ever issued. Every
 * refusal is audited.
 */
@Injectable()
export class ApprovalsService {
  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly transactions: Transactions,
    private readonly grants: GrantsService,
    private readonly audit: AuditService,
    private readonly engines: ActiveEngineService,
    private readonly facts: DecisionFactsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(principal: Principal, body: ApprovalRequestInput): Promise<ApprovalView> {
    // The grant's globs are the literal action and resource id; glob syntax in them would
    // widen it (an approval for `prod/*` must not become a grant for all of prod).
    for (const [field, value] of [
      ['action', body.action],
      ['resource.id', body.resource.id],
    ] as const) {
      if (hasGlobSyntax(value))
        throw new StepgateError(
          'request/invalid',
          `invalid request body: ${field}: approvals are for one exact ${field === 'action' ? 'action' : 'resource'}; remove the glob characters * ? { }`,
          [{ path: field, message: 'glob characters are not allowed' }],
        );
    }
    const now = new Date();
    const { decision, revision } = await this.decideForRequester(principal, body, now);
    const required = requiredApprovals(decision, body.approvals, {
      subject: principal.subject,
      action: body.action,
      resource: body.resource,
    });
    const ttl = body.ttlSeconds ?? this.config.approvalTtlSeconds;
    const row = await this.transactions.run(async (tx) => {
      const created = await this.repository.create(
        {
          requester: principal.subject,
          action: body.action,
          resourceKind: body.resource.kind,
          resourceId: body.resource.id,
          reason: body.reason,
          required,
          createdAt: now,
          expiresAt: new Date(now.getTime() + ttl * 1000),
        },
        tx,
      );
      await this.audit.record(
        {
          actor: actorOf(principal),
          action: 'approval.request',
          target: `approval:${created.id}`,
          reason: body.reason,
          details: {
            requester: created.requester,
            action: created.action,
            resource: { kind: body.resource.kind, id: body.resource.id },
            required: created.required,
            // Where the number came from: the active policies' step-up on this request.
            policies: {
              revision,
              reasons: decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`),
            },
            expiresAt: created.expiresAt.toISOString(),
          },
        },
        tx,
      );
      return created;
    });
    return toApprovalView(row);
  }

  /**
   * The active policies' decision on the request, for the requester (the token's subject, or
   * an ID token's principal with its claims) with roles and groups from the policy data, without
   * evidence: as POST /v1/check and an agent decide it for someone who has not stepped up yet.
   */
  private async decideForRequester(
    principal: Principal,
    body: ApprovalRequestInput,
    now: Date,
  ): Promise<{ decision: Decision; revision: number }> {
    const engines = await this.engines.current();
    if (!engines)
      throw new StepgateError(
        'service/unavailable',
        'no policy version is active, and an approval request takes its number of approvals from the active policies: push policies (or activate a ready version) and retry',
      );
    const own = callerPrincipal(principal, engines.data);
    const request: DecisionRequest = {
      principal: {
        ...own,
        roles: [...new Set([...(own.roles ?? []), ...(body.principal?.roles ?? [])])],
        groups: [...new Set([...(own.groups ?? []), ...(body.principal?.groups ?? [])])],
        ...(body.principal?.attributes ? { attributes: body.principal.attributes } : {}),
      },
      action: body.action,
      ...(body.actionAttributes ? { actionAttributes: body.actionAttributes } : {}),
      resource: body.resource,
      ...(body.context ? { context: body.context } : {}),
    };
    // Live data and the requester's signals count as on an agent (a freeze denies outright).
    const facts = await this.facts.for(engines.engine, principal.subject);
    try {
      return {
        decision: engines.engine.decide(request, undefined, { now, ...facts }),
        revision: engines.revision,
      };
    } catch (error) {
      if (error instanceof InvalidRequestError)
        throw new StepgateError('request/invalid', error.message);
      throw error;
    }
  }

  async list(query: ApprovalsQuery): Promise<ApprovalView[]> {
    // So a listing never shows `pending` for a request whose time is up.
    await this.expireDue();
    const rows = await this.repository.list(
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.requester ? { requester: query.requester } : {}),
      },
      query.limit,
    );
    return rows.map(toApprovalView);
  }

  async get(id: string): Promise<ApprovalView> {
    const row = await this.find(id);
    if (isDue(row, new Date())) {
      await this.transactions.run((tx) => this.expire(tx, id, new Date()));
      return toApprovalView(await this.find(id));
    }
    return toApprovalView(row);
  }

  /** Approves or denies under a row lock; refusals are audited, then thrown. */
  async decide(
    id: string,
    principal: Principal,
    act: ApprovalAct,
    comment?: string,
  ): Promise<ApprovalView> {
    const actor = actorOf(principal);
    const caller = { subject: principal.subject, isApprover: hasScope(principal, ['approver']) };
    const outcome = await this.transactions.run(async (tx): Promise<Outcome> => {
      if (!(await this.repository.lock(id, tx))) throw notFound(id);
      // Read after the lock: whatever a concurrent decision committed is visible now.
      const row = await this.repository.find(id, tx);
      if (!row) throw notFound(id);
      const now = new Date();
      const refusal = refusalFor(row, caller, act, now);
      if (refusal) {
        if (refusal.expire) await this.expire(tx, id, now);
        await this.audit.record(
          {
            actor,
            action: 'approval.refused',
            target: `approval:${id}`,
            reason: refusal.message,
            details: { act, why: refusal.why, subject: principal.subject, status: row.status },
          },
          tx,
        );
        return { kind: 'refused', refusal };
      }
      if (act === 'deny') {
        await this.repository.close(
          id,
          {
            status: 'denied',
            closedAt: now,
            deniedBy: principal.subject,
            denialComment: comment ?? null,
          },
          tx,
        );
        await this.audit.record(
          {
            actor,
            action: 'approval.deny',
            target: `approval:${id}`,
            ...(comment ? { reason: comment } : {}),
            details: { approver: principal.subject, requester: row.requester },
          },
          tx,
        );
        return { kind: 'decided' };
      }
      await this.repository.addApproval(
        { requestId: id, approver: principal.subject, comment: comment ?? null, at: now },
        tx,
      );
      const approvers = [...row.approvals.map((a) => a.approver), principal.subject];
      await this.audit.record(
        {
          actor,
          action: 'approval.approve',
          target: `approval:${id}`,
          ...(comment ? { reason: comment } : {}),
          details: {
            approver: principal.subject,
            requester: row.requester,
            approvals: approvers.length,
            required: row.required,
          },
        },
        tx,
      );
      if (approvers.length < row.required) return { kind: 'decided' };
      await this.repository.close(id, { status: 'approved', closedAt: now }, tx);
      const grant = await this.grants.issueWith(
        tx,
        {
          subject: row.requester,
          kind: 'approval',
          method: 'approval',
          amr: [],
          authTime: now,
          approvals: approvers,
          actions: [row.action],
          resources: [row.resourceId],
          // An approval is for one resource: agents honour the grant for its kind only.
          resourceKind: row.resourceKind,
          actor,
          approvalRequestId: id,
        },
        now,
      );
      await this.audit.record(
        {
          actor,
          action: 'approval.grant',
          target: `approval:${id}`,
          details: { grantId: grant.id, requester: row.requester, approvers },
        },
        tx,
      );
      return { kind: 'decided', grant };
    });
    if (outcome.kind === 'refused')
      throw new StepgateError(outcome.refusal.code, outcome.refusal.message, {
        why: outcome.refusal.why,
      });
    // Only after commit: agents never hold a grant the database does not.
    if (outcome.grant) this.grants.announce(outcome.grant);
    return toApprovalView(await this.find(id));
  }

  /** Marks every pending request past its expiry as expired; returns how many. */
  async expireDue(now = new Date()): Promise<number> {
    const due = await this.repository.dueIds(now, 500);
    let expired = 0;
    for (const id of due)
      if (await this.transactions.run((tx) => this.expire(tx, id, now))) expired++;
    return expired;
  }

  /** Conditional, so concurrent sweeps and touches record one expiry per request. */
  private async expire(tx: Transaction, id: string, now: Date): Promise<boolean> {
    if (!(await this.repository.expire(id, now, tx))) return false;
    await this.audit.record(
      { actor: EXPIRY_ACTOR, action: 'approval.expire', target: `approval:${id}` },
      tx,
    );
    return true;
  }

  private async find(id: string) {
    const row = await this.repository.find(id);
    if (!row) throw notFound(id);
    return row;
  }
}

function notFound(id: string): StepgateError {
  return new StepgateError('approval/not_found', `no approval request with id "${id}"`);
}
