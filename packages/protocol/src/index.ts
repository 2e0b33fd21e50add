/**
 * @stepgate/protocol — wire types and runtime schemas shared by every Stepgate app: the domain
 * error model, canonical JSON, and signing/verification of policy bundles. Pure: no I/O.
 */
export {
  ERROR_CODES,
  ERROR_STATUS,
  StepgateError,
  errorBody,
  errorStatus,
  internalError,
  isErrorCode,
} from './errors.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { decisionRequestSchema, parseDecisionRequest } from './decision-request.js';
export type { DecisionInput } from './decision-request.js';
export { REQUEST_LIMITS, requestLimitProblem } from './request-limits.js';
export type { FieldNamer, RequestLimitProblem } from './request-limits.js';
export { canonicalJson, sha256Hex } from './canonical.js';
export { LOG_LEVELS, LOG_REDACT_CENSOR, LOG_REDACT_PATHS, logOptions } from './log-options.js';
export type { LogLevel } from './log-options.js';
export { resolveSecretFiles } from './secret-files.js';
export type { ReadTextFile } from './secret-files.js';
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
export { GRANT_SCOPE_LIMITS, grantPatternProblem } from './grant-scope.js';
export { globShape } from './glob-shape.js';
export type { GlobError, GlobShape } from './glob-shape.js';
export type { GrantScopeField } from './grant-scope.js';
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
  approvalsResponseSchema,
  auditEventSchema,
  auditQuerySchema,
  auditResponseSchema,
  checkResponseSchema,
  createSourceRequestSchema,
  createTokenRequestSchema,
  createTokenResponseSchema,
  TIMELINE_MAX_BUCKETS,
  decisionIdSchema,
  decisionSchema,
  decisionStatsSchema,
  decisionTimelineQuerySchema,
  decisionTimelineSchema,
  decisionsQuerySchema,
  decisionsResponseSchema,
  enrolmentCodesResponseSchema,
  errorResponseSchema,
  fleetSchema,
  grantsResponseSchema,
  listQuerySchema,
  rollbackRequestSchema,
  shadowReportQuerySchema,
  shadowReportSchema,
  shadowOffResponseSchema,
  shadowRequestSchema,
  shadowResponseSchema,
  timeRangeQuerySchema,
  versionDetailSchema,
  versionErrorSchema,
  versionSchema,
  versionsResponseSchema,
  tokenSchema,
  tokensResponseSchema,
  sourceSchema,
  sourcesResponseSchema,
  syncQueuedSchema,
  livenessSchema,
  readinessSchema,
} from './admin-api.js';
export type {
  ActivateRequest,
  ActivationResponse,
  AgentView,
  AgentsQuery,
  ApprovalsResponse,
  AuditEventView,
  AuditQuery,
  AuditResponse,
  CheckResponse,
  CreateSourceRequest,
  CreateTokenRequest,
  DecisionStats,
  DecisionTimeline,
  DecisionTimelineQuery,
  DecisionView,
  DecisionsQuery,
  DecisionsResponse,
  EnrolmentCodesResponse,
  FleetView,
  GrantsResponse,
  ListQuery,
  RollbackRequest,
  ShadowOffResponse,
  ShadowReport,
  ShadowReportQuery,
  ShadowResponse,
  TimeRangeQuery,
  VersionDetail,
  VersionError,
  VersionView,
  TokenView,
  TokensResponse,
  CreatedToken,
  SourceView,
  SourcesResponse,
  SyncQueued,
  Readiness,
  VersionsResponse,
} from './admin-api.js';
export {
  AGENT_NAMESPACE,
  MAX_LOG_BATCH,
  agentHandshakeSchema,
  agentIdPrefixSchema,
  agentIdSchema,
  agentLabelsSchema,
  bundleAckSchema,
  bundleMessageSchema,
  bundleRejectedSchema,
  DATA_FORMAT,
  DATA_JWS_TYPE,
  dataAckSchema,
  dataApplies,
  dataMessageSchema,
  dataPayloadSchema,
  dataResyncSchema,
  decisionRecordSchema,
  decisionReplaySchema,
  logBatchSchema,
  RECORD_EVIDENCE_LIMITS,
  REPLAY_RECORD_VERSION,
  keysMessageSchema,
  parseLabels,
  SHADOW_CLEARED_FORMAT,
  SHADOW_CLEARED_JWS_TYPE,
  shadowClearedMessageSchema,
  signDataMessage,
  signShadowCleared,
  verifyDataMessage,
  verifyShadowCleared,
} from './agent-protocol.js';
export type {
  AgentHandshake,
  AgentToServerEvents,
  BundleAck,
  BundleMessage,
  BundleRejected,
  DataAck,
  DataMessage,
  DataPayload,
  DataResync,
  DecisionRecord,
  DecisionReplay,
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
  grantAppliesToKind,
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
  checkBodySchema,
  checkRequestSchema,
  createApprovalRequestSchema,
  createdEnrolmentCodeSchema,
  createEnrolmentCodeRequestSchema,
  enrolmentCodeSchema,
  enrolmentCodesQuerySchema,
  grantSchema,
  grantScopeSchema,
  grantsQuerySchema,
  revokeGrantRequestSchema,
  totpConfirmRequestSchema,
  totpConfirmResponseSchema,
  totpElevateRequestSchema,
  totpEnrollRequestSchema,
  totpEnrollResponseSchema,
  webauthnAuthenticationOptionsRequestSchema,
  webauthnRegistrationOptionsRequestSchema,
  webauthnResponseRequestSchema,
} from './step-up-api.js';
export type {
  ApprovalView,
  ApprovalsQuery,
  CheckBody,
  CheckRequest,
  CreateApprovalRequest,
  CreatedEnrolmentCode,
  CreateEnrolmentCodeRequest,
  EnrolmentCodesQuery,
  EnrolmentCodeView,
  GrantScope,
  GrantView,
  GrantsQuery,
  TotpConfirmResponse,
  TotpElevateRequest,
  TotpEnrollResponse,
} from './step-up-api.js';
export { dataSourceListResponseSchema, dataSourceStatusSchema } from './data-sources-api.js';
export type { DataSourceListResponse, DataSourceStatus } from './data-sources-api.js';
export {
  LIVE_DATA_MAX_BODY_BYTES,
  LIVE_DATA_OPS,
  LIVE_DATA_REASON_HEADER,
  liveDataChangeSchema,
  liveDataHistoryQuerySchema,
  liveDataHistoryResponseSchema,
  liveDataListResponseSchema,
  liveDataReasonSchema,
  liveDataWriteResponseSchema,
  liveDocumentResponseSchema,
  liveDocumentSummarySchema,
} from './live-data-api.js';
export type {
  LiveDataChangeView,
  LiveDataHistoryQuery,
  LiveDataHistoryResponse,
  LiveDataListResponse,
  LiveDataWriteResponse,
  LiveDocumentResponse,
  LiveDocumentSummary,
} from './live-data-api.js';
export {
  DOCS_ASSET_FILES,
  DOCS_ASSETS_PATH,
  DOCS_CONTENT_SECURITY_POLICY,
  DOCS_INIT_FILE,
  DOCS_SECURITY_HEADERS,
  docsContentType,
  docsInitScript,
  docsPage,
  openApiPathParameters,
} from './openapi-docs-page.js';
export {
  EVENTS_CONTENT_TYPES,
  EVENTS_MAX_BATCH,
  EVENTS_MAX_BODY_BYTES,
  SIGNALS_FORMAT,
  SIGNALS_JWS_TYPE,
  SIGNALS_MAX_VALUES,
  cloudEventSchema,
  eventsIngestResponseSchema,
  plainEventSchema,
  signSignalsMessage,
  signalSubjectSchema,
  signalUpdateSchema,
  signalValueSchema,
  signalsMessageSchema,
  signalsPayloadSchema,
  subjectSignalSchema,
  subjectSignalsResponseSchema,
  verifySignalsMessage,
} from './signals.js';
export type {
  CloudEvent,
  EventsIngestResponse,
  PlainEvent,
  SignalEvent,
  SignalUpdate,
  SignalValueJson,
  SignalsMessage,
  SignalsPayload,
  SubjectSignalsResponse,
} from './signals.js';
export {
  localReplayRequestSchema,
  MAX_REPLAY_WINDOW_DAYS,
  notReplayableReasonSchema,
  replayFilterSchema,
  replayRequestSchema,
  replayResultSchema,
  replaySchema,
  replayStartedSchema,
  replayStatusSchema,
} from './replay-api.js';
export type {
  LocalReplayRequest,
  NotReplayableReason,
  Replay,
  ReplayExample,
  ReplayFilter,
  ReplayRequest,
  ReplayResult,
  ReplayStarted,
  ReplayStatus,
} from './replay-api.js';
export {
  activationHeldSchema,
  REPLAY_SUMMARY_CHANGES,
  versionReplaySummarySchema,
} from './version-impact-api.js';
export type { ActivationHeld, VersionReplaySummary } from './version-impact-api.js';
export {
  VERSION_DIFF_MAX_FILE_BYTES,
  VERSION_DIFF_MAX_PATCH_BYTES,
  versionDiffFileSchema,
  versionDiffQuerySchema,
  versionDiffResponseSchema,
} from './version-diff-api.js';
export type { VersionDiffFile, VersionDiffQuery, VersionDiffResponse } from './version-diff-api.js';
export { consoleConfigResponseSchema, consoleOidcConfigSchema } from './console-api.js';
export type { ConsoleConfigResponse, ConsoleOidcConfig } from './console-api.js';
export {
  TERRAFORM_PLAN_STAGES,
  TERRAFORM_RUN_TASK_STAGES,
  terraformRunTaskRequestSchema,
  terraformTaskOutcomeSchema,
  terraformTaskResultSchema,
} from './terraform-run-task.js';
export type {
  TerraformRunTaskRequest,
  TerraformRunTaskStage,
  TerraformTaskOutcome,
  TerraformTaskResult,
} from './terraform-run-task.js';
export {
  githubDeploymentProtectionRuleSchema,
  githubWebhookResultSchema,
} from './github-deployment-protection.js';
export type {
  GitHubDeploymentProtectionRule,
  GitHubWebhookResult,
} from './github-deployment-protection.js';
