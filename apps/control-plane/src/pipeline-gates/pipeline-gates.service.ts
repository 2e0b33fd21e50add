/**
 * Pipeline gates: a platform that performs a change (a GitHub deployment, a Terraform run)
 * waits on Stepgate's decision for one request, and Stepgate reports the outcome back once.
 *
 * Interface (the GitHub deployment protection rule and the Terraform run task use it):
 * - `register(kind, handler)`: at module init, once per kind. `handler.resolve(gate, outcome)`
 *   reports `{effect: 'allow' | 'deny' | 'expired', decision?}` to the platform; it is called
 *   once per gate (a throw is retried with backoff, up to 8 attempts; the gate is recorded as
 *   closed only after it succeeds or the attempts run out). Optional `handler.pending(gate,
 *   decision)` is called when the gate opens waiting for a step-up and whenever the unmet parts
 *   change, to tell the actor what to do.
 * - `open({kind, principal, input, target, secrets?, expiresAt?, actor, approvalReason?})`:
 *   decides `input` at once with StepUpCheckService (the principal's elevation and approval
 *   grants count, as on `POST /v1/check`); an invalid input throws `request/invalid` and nothing
 *   is recorded. Allowed or denied: the gate is recorded and resolved before open() returns.
 *   Step-up: the gate stays `pending`, an approval request is opened for the principal when
 *   approvals are missing (with `approvalReason`), `pending` is called, and the poller decides
 *   it again every STEPGATE_PIPELINE_GATE_POLL_INTERVAL until allowed, denied or
 *   `expiresAt` (default now + STEPGATE_PIPELINE_GATE_TTL), when it resolves `expired`.
 *   `target` is stored as JSON; `secrets` are sealed with STEPGATE_SECRET_KEY at rest and given
 *   back decrypted in `gate.secrets`.
 * - `recordDelivery(kind, id)` / `forgetDelivery(kind, id)`: webhook delivery ids seen, so a
 *   replayed delivery is refused.
 * Several replicas poll the same table safely: a gate is claimed (SKIP LOCKED, with a lease)
 * before it is decided or reported. Every opening, step-up change and outcome is audited.
 */
import { Inject, Injectable } from '@nestjs/common';
import { StepgateError, type CheckRequest, type CheckResponse } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { ApprovalsService } from '../approvals/approvals.service.js';
import { SecretBox } from '../common/secret-box.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { Transactions } from '../database/transaction.js';
import { LOGGER } from '../logging/logger.js';
import { StepUpCheckService } from '../step-up/step-up-check.service.js';
import type {
  OpenPipelineGate,
  PipelineGate,
  PipelineGateHandler,
  PipelineGateKind,
  PipelineGateOutcome,
  PipelineGateStatus,
} from './pipeline-gate.js';
import { gateFromRow } from './gate-from-row.js';
import { PipelineGatesRepository, type PipelineGateRow } from './pipeline-gates.repository.js';

/** The audit actor of what the poller does. */
export const PIPELINE_GATES_ACTOR = 'system:pipeline-gates';
/** How long a replica holds a claimed gate: longer than a decision plus a platform call. */
const CLAIM_LEASE_MS = 60_000;
/** Left of the lease when a replica stops starting on its claimed gates: one gate's worth. */
const LEASE_MARGIN_MS = 30_000;
/** Gates one poll claims. */
const CLAIM_BATCH = 20;
/** Report attempts before a gate is closed unreported (audited as report_failed). */
export const MAX_REPORT_ATTEMPTS = 8;
/** The longest wait between two report attempts. */
const MAX_RETRY_DELAY_MS = 5 * 60_000;

const STATUS_OF: Record<PipelineGateOutcome['effect'], PipelineGateStatus> = {
  allow: 'approved',
  deny: 'rejected',
  expired: 'expired',
};

@Injectable()
export class PipelineGatesService {
  private readonly handlers = new Map<PipelineGateKind, PipelineGateHandler>();

  constructor(
    private readonly repository: PipelineGatesRepository,
    private readonly transactions: Transactions,
    private readonly checks: StepUpCheckService,
    private readonly approvals: ApprovalsService,
    private readonly audit: AuditService,
    private readonly secrets: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  register(kind: PipelineGateKind, handler: PipelineGateHandler): void {
    if (this.handlers.has(kind))
      throw new Error(`a pipeline gate handler for ${kind} is registered already`);
    this.handlers.set(kind, handler);
  }

  recordDelivery(kind: PipelineGateKind, deliveryId: string): Promise<boolean> {
    return this.repository.recordDelivery(`${kind}:${deliveryId}`, kind);
  }

  forgetDelivery(kind: PipelineGateKind, deliveryId: string): Promise<void> {
    return this.repository.forgetDelivery(`${kind}:${deliveryId}`);
  }

  async open(request: OpenPipelineGate): Promise<PipelineGate> {
    if (request.principal !== request.input.principal.id)
      throw new Error('a pipeline gate is for the principal of its input');
    const now = new Date();
    // Decided before anything is recorded: an input the engine refuses is the caller's 400.
    const first = await this.decide(request.input, now);
    const expiresAt =
      request.expiresAt ?? new Date(now.getTime() + this.config.pipelineGates.ttlSeconds * 1000);
    const row = await this.transactions.run(async (tx) => {
      const created = await this.repository.create(
        {
          kind: request.kind,
          principal: request.principal,
          input: request.input as object,
          target: request.target as object,
          sealedSecrets: request.secrets
            ? this.secrets.seal(JSON.stringify(request.secrets))
            : null,
          expiresAt,
          createdAt: now,
          // Held by this replica until the first decision is acted on.
          claimedUntil: new Date(now.getTime() + CLAIM_LEASE_MS),
        },
        tx,
      );
      await this.audit.record(
        {
          actor: request.actor,
          action: 'pipeline-gate.open',
          target: `pipeline-gate:${created.id}`,
          details: {
            kind: request.kind,
            principal: request.principal,
            action: request.input.action,
            resource: { kind: request.input.resource.kind, id: request.input.resource.id },
            target: request.target,
            expiresAt: expiresAt.toISOString(),
            effect: first?.decision.effect ?? null,
          },
        },
        tx,
      );
      return created;
    });
    if (first?.decision.effect === 'step_up' && request.approvalReason)
      row.approvalRequestId = await this.openApprovalRequest(row, first, request.approvalReason);
    await this.advance(row, first, now);
    return this.view((await this.repository.find(row.id)) ?? row);
  }

  /** One round of the poller: claims the pending gates no replica holds and moves each on. */
  async poll(now = new Date()): Promise<number> {
    const leaseEnd = now.getTime() + CLAIM_LEASE_MS;
    const rows = await this.repository.claim(now, new Date(leaseEnd), CLAIM_BATCH);
    for (const row of rows) {
      // Slow platform calls ate the lease: leave the rest to whoever claims them after it,
      // rather than work on a gate another replica may be claiming now.
      if (Date.now() > leaseEnd - LEASE_MARGIN_MS) break;
      try {
        const response =
          row.expiresAt <= now ? undefined : await this.decide(this.inputOf(row), now);
        await this.advance(row, response, now);
      } catch (error) {
        // A gate that cannot be decided (its input no longer valid under new policies...) is
        // tried again later; it expires at its time like any other.
        this.logger.warn(
          { gate: row.id, kind: row.kind, error: (error as Error).message },
          'pipeline gate could not be decided',
        );
        await this.repository.release(
          row.id,
          { lastError: (error as Error).message },
          this.later(now, 1),
        );
      }
    }
    return rows.length;
  }

  /**
   * The decision with the principal's grants; undefined while no policy version is active
   * (the gate then waits). An invalid request throws `request/invalid`.
   */
  private async decide(input: CheckRequest, now: Date): Promise<CheckResponse | undefined> {
    try {
      return await this.checks.check(input, now);
    } catch (error) {
      if (error instanceof StepgateError && error.code === 'service/unavailable') return undefined;
      throw error;
    }
  }

  /** Acts on a claimed gate's latest decision: report it, or wait and let it go. */
  private async advance(
    row: PipelineGateRow,
    response: CheckResponse | undefined,
    now: Date,
  ): Promise<void> {
    const gate = this.view(row);
    if (row.expiresAt <= now)
      return this.report(
        row,
        { effect: 'expired', ...(gate.decision ? { decision: gate.decision } : {}) },
        now,
      );
    if (!response) return this.repository.release(row.id, {}, null);
    const effect = response.decision.effect;
    if (effect === 'allow' || effect === 'deny')
      return this.report(row, { effect, decision: response }, now);
    const denial = await this.approvalDenial(gate);
    if (denial)
      return this.report(row, { effect: 'deny', decision: response, reason: denial }, now);
    return this.waiting(row, gate, response);
  }

  /** Still a step-up: records it, and tells the platform when what is missing changed. */
  private async waiting(
    row: PipelineGateRow,
    gate: PipelineGate,
    response: CheckResponse,
  ): Promise<void> {
    const changed = gate.decision === null || unmetOf(gate.decision) !== unmetOf(response);
    if (changed) {
      const handler = this.handlers.get(gate.kind);
      try {
        await handler?.pending?.({ ...gate, decision: response }, response);
      } catch (error) {
        // Not saved, so the next poll sees the change again and retries the notice.
        this.logger.warn(
          { gate: row.id, kind: row.kind, error: (error as Error).message },
          'pipeline gate: telling the platform what is missing failed; retrying',
        );
        await this.repository.release(
          row.id,
          { lastError: (error as Error).message, approvalRequestId: row.approvalRequestId },
          this.later(new Date(), 1),
        );
        return;
      }
      await this.audit.record({
        actor: PIPELINE_GATES_ACTOR,
        action: 'pipeline-gate.step_up',
        target: `pipeline-gate:${row.id}`,
        details: {
          kind: row.kind,
          principal: row.principal,
          require: response.decision.require ?? null,
          unmet: response.decision.unmet ?? [],
          reasons: response.decision.reasons.map((reason) => `${reason.policy}/${reason.rule}`),
        },
      });
    }
    await this.repository.release(
      row.id,
      { decision: response as object, approvalRequestId: row.approvalRequestId },
      null,
    );
  }

  /** Reports the outcome through the kind's handler, then records it; retried on failure. */
  private async report(
    row: PipelineGateRow,
    outcome: PipelineGateOutcome,
    now: Date,
  ): Promise<void> {
    const handler = this.handlers.get(row.kind as PipelineGateKind);
    if (!handler) {
      // This replica runs without the integration configured; another one may have it.
      await this.repository.release(row.id, {}, this.later(now, 3));
      return;
    }
    const gate = this.view(row);
    let failure: string | undefined;
    try {
      await handler.resolve(gate, outcome);
    } catch (error) {
      failure = (error as Error).message;
      const attempts = row.reportAttempts + 1;
      this.logger.warn(
        { gate: row.id, kind: row.kind, attempts, error: failure },
        'pipeline gate: reporting the outcome failed',
      );
      if (attempts < MAX_REPORT_ATTEMPTS) {
        await this.repository.release(
          row.id,
          { reportAttempts: attempts, lastError: failure },
          this.later(now, attempts),
        );
        return;
      }
    }
    const status = STATUS_OF[outcome.effect];
    await this.transactions.run(async (tx) => {
      const closed = await this.repository.close(
        row.id,
        {
          status,
          ...(outcome.decision ? { decision: outcome.decision as object } : {}),
          resolvedAt: now,
          ...(failure ? { lastError: failure } : {}),
        },
        tx,
      );
      if (!closed) return;
      const decision = outcome.decision?.decision;
      await this.audit.record(
        {
          actor: PIPELINE_GATES_ACTOR,
          action: failure ? 'pipeline-gate.report_failed' : `pipeline-gate.${status}`,
          target: `pipeline-gate:${row.id}`,
          ...(failure || outcome.reason ? { reason: failure ?? outcome.reason } : {}),
          details: {
            kind: row.kind,
            principal: row.principal,
            status,
            action: gate.input.action,
            resource: { kind: gate.input.resource.kind, id: gate.input.resource.id },
            effect: decision?.effect ?? null,
            reasons: decision?.reasons.map((reason) => `${reason.policy}/${reason.rule}`) ?? [],
            decisionId: decision?.decisionId ?? null,
            revision: decision?.revision ?? null,
          },
        },
        tx,
      );
    });
  }

  /**
   * An approval request for the principal, so approvers see the deployment in the console and
   * `stepgate approve`; the approvals turn into a grant the next decision counts. Undefined
   * when the policies refuse it (logged): the gate still waits, for an elevation or expiry.
   */
  private async openApprovalRequest(
    row: PipelineGateRow,
    first: CheckResponse,
    reason: string,
  ): Promise<string | null> {
    if (!first.decision.unmet?.includes('approvals')) return null;
    const input = this.inputOf(row);
    const secondsLeft = Math.floor((row.expiresAt.getTime() - Date.now()) / 1000);
    try {
      const request = await this.approvals.create(
        // The gate acts for the principal the platform verified (audited as the gate's token).
        {
          tokenId: `pipeline-gate:${row.id}`,
          name: `pipeline-gate:${row.kind}`,
          subject: row.principal,
          scopes: [],
        },
        {
          action: input.action,
          ...(input.actionAttributes ? { actionAttributes: input.actionAttributes } : {}),
          resource: input.resource,
          reason: reason.slice(0, 1000),
          principal: {
            ...(input.principal.roles ? { roles: input.principal.roles } : {}),
            ...(input.principal.groups ? { groups: input.principal.groups } : {}),
            ...(input.principal.attributes ? { attributes: input.principal.attributes } : {}),
          },
          ...(input.context ? { context: input.context } : {}),
          ttlSeconds: Math.min(86_400, Math.max(30, secondsLeft)),
        },
      );
      return request.id;
    } catch (error) {
      this.logger.warn(
        { gate: row.id, error: (error as Error).message },
        'pipeline gate: no approval request could be opened',
      );
      return null;
    }
  }

  /**
   * Why the gate's approval request was denied, if it was: one denial closes the request, so
   * the gate is rejected at once rather than left to expire.
   */
  private async approvalDenial(gate: PipelineGate): Promise<string | undefined> {
    if (!gate.approvalRequestId) return undefined;
    const request = await this.approvals.get(gate.approvalRequestId).catch(() => undefined);
    if (request?.status !== 'denied') return undefined;
    return `approval request ${request.id} was denied by ${request.deniedBy ?? 'an approver'}${request.denialComment ? `: ${request.denialComment}` : ''}`;
  }

  /** Backoff after `attempts` failures: the poll period doubled each time, at most 5 minutes. */
  private later(now: Date, attempts: number): Date {
    const delay = Math.min(
      MAX_RETRY_DELAY_MS,
      this.config.pipelineGates.pollIntervalMs * 2 ** Math.min(attempts, 20),
    );
    return new Date(now.getTime() + delay);
  }

  private inputOf(row: PipelineGateRow): CheckRequest {
    return row.input as unknown as CheckRequest;
  }

  private view(row: PipelineGateRow): PipelineGate {
    return gateFromRow(row, this.secrets);
  }
}

/** The unmet parts of a step-up, as a comparable key. */
function unmetOf(response: CheckResponse): string {
  return `${response.decision.effect}:${[...(response.decision.unmet ?? [])].sort().join(',')}`;
}
