import type { CheckRequest, CheckResponse } from '@stepgate/protocol';
import type { SecretBox } from '../common/secret-box.js';
import type { PipelineGate, PipelineGateKind } from './pipeline-gate.js';
import type { PipelineGateRow } from './pipeline-gates.repository.js';

/** A stored gate as handlers see it: its platform secrets unsealed. */
export function gateFromRow(row: PipelineGateRow, secrets: SecretBox): PipelineGate {
  return {
    id: row.id,
    kind: row.kind as PipelineGateKind,
    principal: row.principal,
    input: row.input as unknown as CheckRequest,
    target: row.target as Record<string, unknown>,
    secrets: row.sealedSecrets
      ? (JSON.parse(secrets.open(row.sealedSecrets)) as Record<string, string>)
      : {},
    status: row.status,
    decision: (row.decision as unknown as CheckResponse | null) ?? null,
    approvalRequestId: row.approvalRequestId,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    resolvedAt: row.resolvedAt,
  };
}
