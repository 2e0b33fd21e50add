/**
 * @stepgate/protocol — wire types and runtime schemas shared by every Stepgate app: the domain
 * error model, canonical JSON, and signing/verification of policy bundles. Pure: no I/O.
 */
export { ERROR_CODES, ERROR_STATUS, StepgateError, errorBody, isErrorCode } from './errors.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { canonicalJson, sha256Hex } from './canonical.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_JWS_TYPE,
  BUNDLE_SIGNING_ALG,
  BundleVerificationError,
  bundleHashOf,
  bundlePayloadSchema,
  isNewerBundle,
  resolveKey,
  signBundle,
  verifyBundle,
} from './bundle.js';
export type {
  BundleKeyResolver,
  BundlePayload,
  BundleSigningKey,
  BundleVerificationFailure,
  BundleVerificationKey,
} from './bundle.js';
export { generateSigningKey, importSigningKey, toJwks } from './keys.js';
export {
  KEYS_FORMAT,
  KEYS_JWS_TYPE,
  MAX_ENDORSEMENTS,
  endorseKeys,
  extendTrust,
  keySetStatementSchema,
  verifyEndorsement,
} from './key-endorsement.js';
export type { KeySetStatement, TrustExtension, VerifiedEndorsement } from './key-endorsement.js';
export type {
  BundleJwk,
  BundleJwks,
  Ed25519PrivateJwk,
  Ed25519PublicJwk,
  ImportedSigningKey,
} from './keys.js';
export {
  SCOPE_NAMES,
  activateRequestSchema,
  activationResponseSchema,
  agentSchema,
  agentsQuerySchema,
  agentsResponseSchema,
  auditEventSchema,
  createSourceRequestSchema,
  createTokenRequestSchema,
  createTokenResponseSchema,
  decisionSchema,
  decisionStatsSchema,
  decisionsQuerySchema,
  decisionsResponseSchema,
  errorResponseSchema,
  fleetSchema,
  listQuerySchema,
  rollbackRequestSchema,
  shadowReportQuerySchema,
  shadowReportSchema,
  shadowRequestSchema,
  shadowResponseSchema,
  timeRangeQuerySchema,
  versionDetailSchema,
  versionSchema,
} from './admin-api.js';
export type {
  ActivateRequest,
  AgentView,
  AgentsQuery,
  AuditEventView,
  CreateSourceRequest,
  CreateTokenRequest,
  DecisionStats,
  DecisionView,
  DecisionsQuery,
  FleetView,
  ListQuery,
  RollbackRequest,
  ShadowReport,
  ShadowReportQuery,
  TimeRangeQuery,
  VersionView,
} from './admin-api.js';
export {
  AGENT_NAMESPACE,
  MAX_LOG_BATCH,
  agentHandshakeSchema,
  agentIdSchema,
  agentLabelsSchema,
  bundleAckSchema,
  bundleMessageSchema,
  bundleRejectedSchema,
  decisionRecordSchema,
  logBatchSchema,
  keysMessageSchema,
  parseLabels,
  SHADOW_CLEARED_FORMAT,
  SHADOW_CLEARED_JWS_TYPE,
  shadowClearedMessageSchema,
  signShadowCleared,
  verifyShadowCleared,
} from './agent-protocol.js';
export type {
  AgentHandshake,
  AgentToServerEvents,
  BundleAck,
  BundleMessage,
  BundleRejected,
  DecisionRecord,
  KeysMessage,
  LogBatch,
  LogBatchAck,
  ServerToAgentEvents,
  ShadowClearedMessage,
} from './agent-protocol.js';
export {
  GRANT_FORMAT,
  GRANT_JWS_TYPE,
  GRANT_REVOCATION_FORMAT,
  GRANT_REVOCATION_JWS_TYPE,
  GrantVerificationError,
  grantClaimsSchema,
  grantsMessageSchema,
  isGrantCurrent,
  signGrant,
  signGrantsMessage,
  verifyGrant,
  verifyGrantRemovals,
} from './grants.js';
export type { GrantClaims, GrantRemovals, GrantsMessage } from './grants.js';
export {
  approvalDecisionRequestSchema,
  approvalSchema,
  approvalsQuerySchema,
  checkRequestSchema,
  createApprovalRequestSchema,
  grantSchema,
  grantScopeSchema,
  grantsQuerySchema,
  revokeGrantRequestSchema,
  totpElevateRequestSchema,
  totpEnrollRequestSchema,
  totpEnrollResponseSchema,
  webauthnAuthenticationOptionsRequestSchema,
  webauthnResponseRequestSchema,
} from './step-up-api.js';
export type {
  ApprovalView,
  ApprovalsQuery,
  CheckRequest,
  CreateApprovalRequest,
  GrantScope,
  GrantView,
  GrantsQuery,
  TotpElevateRequest,
  TotpEnrollResponse,
} from './step-up-api.js';
