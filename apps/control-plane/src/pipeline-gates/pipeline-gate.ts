import type { CheckRequest, CheckResponse } from '@stepgate/protocol';

/** The platforms that wait on a pipeline gate. */
export const PIPELINE_GATE_KINDS = ['github', 'terraform'] as const;
export type PipelineGateKind = (typeof PIPELINE_GATE_KINDS)[number];

export type PipelineGateStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/** A gate as its kind's handler sees it. */
export interface PipelineGate {
  id: string;
  kind: PipelineGateKind;
  /** The request's principal id: whose grants and approvals count. */
  principal: string;
  /** The decision request, as the policies see it. */
  input: CheckRequest;
  /** What the kind needs to report back (run id, callback URL...). */
  target: Record<string, unknown>;
  /** The secrets given to open(), decrypted (stored sealed with STEPGATE_SECRET_KEY). */
  secrets: Record<string, string>;
  status: PipelineGateStatus;
  /** The last decision; null before the first (no active policy version yet). */
  decision: CheckResponse | null;
  /** The approval request opened for the principal when approvals were missing. */
  approvalRequestId: string | null;
  expiresAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
}

/** How a gate closed: allowed, denied, or out of time (then `decision` is the last one). */
export interface PipelineGateOutcome {
  effect: 'allow' | 'deny' | 'expired';
  decision?: CheckResponse;
  /**
   * Why, when the decision alone does not say: a deny because an approver denied the gate's
   * approval request (the decision is then the step-up that was waiting for it).
   */
  reason?: string;
}

/** What a platform integration registers for its kind. */
export interface PipelineGateHandler {
  /**
   * Reports the outcome to the platform; called once per gate (a throw is retried on the next
   * polls, up to a limit, and nothing is recorded until it succeeds).
   */
  resolve(gate: PipelineGate, outcome: PipelineGateOutcome): Promise<void>;
  /**
   * Optional: the gate waits for a step-up. Called when the gate opens pending and whenever
   * the unmet parts change (after an elevation only approvals may remain), so the platform
   * can tell the actor what to do; a throw is retried on the next poll.
   */
  pending?(gate: PipelineGate, decision: CheckResponse): Promise<void>;
}

/** What open() needs. */
export interface OpenPipelineGate {
  kind: PipelineGateKind;
  /** Must be `input.principal.id`. */
  principal: string;
  input: CheckRequest;
  target: Record<string, unknown>;
  /** Values the handler needs but that must not be stored in clear (sealed at rest). */
  secrets?: Record<string, string>;
  /** Default: now + STEPGATE_PIPELINE_GATE_TTL. */
  expiresAt?: Date;
  /** The audit actor of the opening, e.g. `github:<login>`. */
  actor: string;
  /**
   * When the first decision wants approvals, an approval request is opened for the principal
   * with this reason, so approvers find it in the console and `stepgate approve`.
   */
  approvalReason?: string;
}
