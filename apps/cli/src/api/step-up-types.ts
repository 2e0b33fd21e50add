/**
 * The step-up part of the admin API as the CLI sees it (`POST /v1/check`, elevation, grants,
 * approvals; schemas in packages/protocol/src/step-up-api.ts), with light run-time checks of
 * the fields the CLI relies on, like control-plane-types.ts.
 */
import { ResponseShapeError } from './control-plane-types.js';

export type Effect = 'allow' | 'deny' | 'step_up';

/** The unmet parts of a step-up requirement; `maxAge` in seconds. */
export interface Requirement {
  level?: string;
  maxAge?: number;
  approvals?: number;
}

export interface Reason {
  policy: string;
  rule: string;
  effect: string;
  message?: string;
}

export interface CheckDecision {
  effect: Effect;
  require?: Requirement;
  reasons: Reason[];
  revision: number;
  decisionId?: string;
}

/** Commands that would close the gap, as the control plane suggests them. */
export interface Satisfy {
  elevate?: string;
  request?: string;
  approvals?: number;
}

export interface CheckResult {
  decision: CheckDecision;
  levels?: unknown;
  satisfy?: Satisfy;
}

export interface CheckInput {
  principal: {
    id: string;
    roles?: string[];
    groups?: string[];
    attributes?: Record<string, unknown>;
  };
  action: string;
  resource: { kind: string; id: string; attributes?: Record<string, unknown> };
  context?: Record<string, unknown>;
}

export interface GrantView {
  id: string;
  subject: string;
  kind: 'elevation' | 'approval';
  method: string;
  amr: string[];
  level: string | null;
  authTime: string;
  approvals: string[];
  actions: string[];
  resources: string[];
  issuedAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface GrantList {
  grants: GrantView[];
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalView {
  id: string;
  requester: string;
  action: string;
  resource: { kind: string; id: string };
  reason: string;
  required: number;
  status: ApprovalStatus;
  approvals: { approver: string; at: string; comment: string | null }[];
  deniedBy: string | null;
  denialComment: string | null;
  createdAt: string;
  expiresAt: string;
  closedAt: string | null;
  grantId: string | null;
}

export interface ApprovalList {
  approvals: ApprovalView[];
}

export interface TotpEnrollment {
  subject: string;
  secret: string;
  otpauthUri: string;
  confirmed: boolean;
}

export interface TotpEnrollInput {
  replace?: boolean;
  /** With `replace`: a current code of the factor being replaced. */
  code?: string;
  /** A first factor: the one-time enrolment code an admin issued. */
  enrolmentCode?: string;
}

export interface TotpConfirmation {
  subject: string;
  confirmed: true;
  confirmedAt: string;
}

export interface EnrolmentCodeView {
  id: string;
  subject: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
}

/** Only the creation response carries the code itself. */
export interface CreatedEnrolmentCode extends EnrolmentCodeView {
  code: string;
}

export interface EnrolmentCodeList {
  codes: EnrolmentCodeView[];
}

export interface ElevateInput {
  code: string;
  actions?: string[];
  resources?: string[];
  ttlSeconds?: number;
}

export interface ApprovalInput {
  action: string;
  resource: { kind: string; id: string };
  reason: string;
  /**
   * The requester as the policies should see them (the id is the token's subject): the
   * control plane decides the request with these and takes the number of approvals from it.
   */
  principal?: { roles?: string[]; groups?: string[]; attributes?: Record<string, unknown> };
  context?: Record<string, unknown>;
  ttlSeconds?: number;
}

const EFFECTS: readonly string[] = ['allow', 'deny', 'step_up'];
const APPROVAL_STATUSES: readonly string[] = ['pending', 'approved', 'denied', 'expired'];

export function readCheckResult(body: unknown): CheckResult {
  const result = record(body, 'response');
  const decision = record(result.decision, 'decision');
  if (typeof decision.effect !== 'string' || !EFFECTS.includes(decision.effect)) {
    throw new ResponseShapeError(`decision.effect should be one of ${EFFECTS.join(', ')}`);
  }
  field(decision, 'revision', 'number', 'decision');
  array(decision.reasons, 'decision.reasons').forEach((item, i) => {
    const reason = record(item, `decision.reasons[${i}]`);
    field(reason, 'policy', 'string', `decision.reasons[${i}]`);
    field(reason, 'rule', 'string', `decision.reasons[${i}]`);
  });
  if (decision.require !== undefined && decision.require !== null) {
    const require = record(decision.require, 'decision.require');
    optional(require, 'level', 'string', 'decision.require');
    optional(require, 'maxAge', 'number', 'decision.require');
    optional(require, 'approvals', 'number', 'decision.require');
  }
  if (result.satisfy !== undefined && result.satisfy !== null) {
    const satisfy = record(result.satisfy, 'satisfy');
    optional(satisfy, 'elevate', 'string', 'satisfy');
    optional(satisfy, 'request', 'string', 'satisfy');
    optional(satisfy, 'approvals', 'number', 'satisfy');
  }
  return result as unknown as CheckResult;
}

export function readGrant(body: unknown, path = 'response'): GrantView {
  const grant = record(body, path);
  for (const key of ['id', 'subject', 'kind', 'method', 'authTime', 'issuedAt', 'expiresAt']) {
    field(grant, key, 'string', path);
  }
  for (const key of ['amr', 'approvals', 'actions', 'resources']) {
    array(grant[key], `${path}.${key}`);
  }
  nullable(grant, 'level', 'string', path);
  nullable(grant, 'revokedAt', 'string', path);
  return grant as unknown as GrantView;
}

export function readGrantList(body: unknown): GrantList {
  const list = record(body, 'response');
  array(list.grants, 'grants').forEach((item, i) => readGrant(item, `grants[${i}]`));
  return list as unknown as GrantList;
}

export function readApproval(body: unknown, path = 'response'): ApprovalView {
  const approval = record(body, path);
  for (const key of ['id', 'requester', 'action', 'reason', 'createdAt', 'expiresAt']) {
    field(approval, key, 'string', path);
  }
  field(approval, 'required', 'number', path);
  if (typeof approval.status !== 'string' || !APPROVAL_STATUSES.includes(approval.status)) {
    throw new ResponseShapeError(`${path}.status should be one of ${APPROVAL_STATUSES.join(', ')}`);
  }
  const resource = record(approval.resource, `${path}.resource`);
  field(resource, 'kind', 'string', `${path}.resource`);
  field(resource, 'id', 'string', `${path}.resource`);
  array(approval.approvals, `${path}.approvals`).forEach((item, i) =>
    field(record(item, `${path}.approvals[${i}]`), 'approver', 'string', `${path}.approvals[${i}]`),
  );
  nullable(approval, 'deniedBy', 'string', path);
  nullable(approval, 'grantId', 'string', path);
  return approval as unknown as ApprovalView;
}

export function readApprovalList(body: unknown): ApprovalList {
  const list = record(body, 'response');
  array(list.approvals, 'approvals').forEach((item, i) => readApproval(item, `approvals[${i}]`));
  return list as unknown as ApprovalList;
}

export function readTotpEnrollment(body: unknown): TotpEnrollment {
  const enrollment = record(body, 'response');
  for (const key of ['subject', 'secret', 'otpauthUri'])
    field(enrollment, key, 'string', 'response');
  field(enrollment, 'confirmed', 'boolean', 'response');
  return enrollment as unknown as TotpEnrollment;
}

export function readTotpConfirmation(body: unknown): TotpConfirmation {
  const confirmation = record(body, 'response');
  for (const key of ['subject', 'confirmedAt']) field(confirmation, key, 'string', 'response');
  if (confirmation.confirmed !== true)
    throw new ResponseShapeError('response.confirmed should be true');
  return confirmation as unknown as TotpConfirmation;
}

export function readEnrolmentCode(body: unknown, path = 'response'): EnrolmentCodeView {
  const code = record(body, path);
  for (const key of ['id', 'subject', 'createdBy', 'createdAt', 'expiresAt'])
    field(code, key, 'string', path);
  nullable(code, 'usedAt', 'string', path);
  return code as unknown as EnrolmentCodeView;
}

export function readCreatedEnrolmentCode(body: unknown): CreatedEnrolmentCode {
  const created = readEnrolmentCode(body);
  field(created as unknown as Record<string, unknown>, 'code', 'string', 'response');
  return created as CreatedEnrolmentCode;
}

export function readEnrolmentCodeList(body: unknown): EnrolmentCodeList {
  const list = record(body, 'response');
  array(list.codes, 'codes').forEach((item, i) => readEnrolmentCode(item, `codes[${i}]`));
  return list as unknown as EnrolmentCodeList;
}

/** `DELETE` answers 204 without a body. */
export function readNothing(): void {
  return undefined;
}

function field(value: Record<string, unknown>, key: string, kind: string, path: string): void {
  if (typeof value[key] !== kind)
    throw new ResponseShapeError(`${path}.${key} should be a ${kind}`);
}

function optional(value: Record<string, unknown>, key: string, kind: string, path: string): void {
  const item = value[key];
  if (item !== undefined && item !== null && typeof item !== kind) {
    throw new ResponseShapeError(`${path}.${key} should be a ${kind} or absent`);
  }
}

function nullable(value: Record<string, unknown>, key: string, kind: string, path: string): void {
  const item = value[key];
  // Absent is tolerated too: older control planes may leave optional columns out.
  if (item !== undefined && item !== null && typeof item !== kind) {
    throw new ResponseShapeError(`${path}.${key} should be a ${kind} or null`);
  }
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResponseShapeError(`${path} should be an object`);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ResponseShapeError(`${path} should be an array`);
  return value;
}
