/**
 * @stepgate/agent-core — the embeddable decision point: trusted keys, verified bundle store
 * with atomic swaps, fail mode, shadow evaluation, verified evidence (bearer tokens, grants), the decision-log buffer and its shipper,
 * step-up challenges, and the Node SDK (Express middleware, NestJS guard). No I/O: files and
 * sockets are behind the interfaces in `ports`.
 */
export { silentLogger, systemClock } from './ports.js';
export type {
  BundleCache,
  BundleKind,
  Clock,
  ConnectionState,
  ControlPlaneLink,
  GrantCache,
  KeyPinStore,
  LiveDataCache,
  Logger,
  PinnedKeys,
  LogSink,
  StoredGrants,
} from './ports.js';
export { TrustStore } from './trust-store.js';
export type { ServerKeysResult, TrustMode } from './trust-store.js';
export { BundleStore, DEFAULT_MAX_REVISION_STEP } from './bundle-store.js';
export type {
  BundleSource,
  BundleStoreOptions,
  LoadedBundle,
  OfferOptions,
  OfferResult,
  RefusalCode,
} from './bundle-store.js';
export { DecisionPoint } from './decision-point.js';
export { LiveDataStore } from './live-data-store.js';
export type { DataOfferResult, LiveData, LiveDataStoreOptions } from './live-data-store.js';
export { SignalStore } from './signal-store.js';
export type { SignalsApplyResult, SignalStoreOptions, SignalValues } from './signal-store.js';
export type {
  DecidePointOptions,
  DecisionPointOptions,
  DecisionPointStatus,
  FailMode,
} from './decision-point.js';
export { TokenVerificationError, TokenVerifier } from './evidence/token-verifier.js';
export type {
  IssuerSource,
  TokenRejection,
  TokenVerifierOptions,
  VerifiedToken,
} from './evidence/token-verifier.js';
export { GrantStore } from './evidence/grant-store.js';
export type { GrantKeys, GrantsApplied, GrantStoreOptions } from './evidence/grant-store.js';
export { applyMask, compileMask, toDecisionRecord } from './decision-record.js';
export type {
  AgentDecision,
  CompiledMask,
  DecisionEntry,
  DeclaredSignal,
  FailReason,
  MaskPath,
} from './decision-record.js';
export { DEFAULT_LOG_CAPACITY, LogBuffer } from './log-buffer.js';
export { LogShipper } from './log-shipper.js';
export type { LogShipperOptions, ShipResult } from './log-shipper.js';
export { AgentSync } from './agent-sync.js';
export type { AgentSyncOptions, SignalsOfferResult } from './agent-sync.js';
export { acrValuesFor, describeRequirement, stepUpChallenge } from './challenge.js';
export type { ChallengeStyle, StepUpChallenge } from './challenge.js';
export {
  ANONYMOUS,
  clientAddress,
  fromTrustedProxy,
  httpAction,
  httpDecisionRequest,
  httpOutcome,
  normalizeHttpPath,
} from './http-mapping.js';
export type { ForwardingHeaders, HttpOutcome } from './http-mapping.js';
export {
  isRuleAllow,
  isRuleDeny,
  K8S_ANY_NAME,
  K8S_CLUSTER_SCOPE,
  k8sAction,
  k8sNonResourceRequest,
  k8sPrincipal,
  k8sResourceId,
  k8sResourceRequest,
  k8sStepUpMessage,
  policyMessage,
} from './k8s-mapping.js';
export type {
  K8sNonResourceAttributes,
  K8sResourceAttributes,
  K8sResourceExtras,
  K8sUser,
} from './k8s-mapping.js';
export { defaultMapRequest, enforce } from './sdk/enforcement.js';
export type {
  DecisionPointLike,
  Enforcement,
  EnforcementOptions,
  HttpRequestLike,
  HttpResponseLike,
} from './sdk/enforcement.js';
export { expressMiddleware } from './sdk/express-middleware.js';
export type { NextFunction } from './sdk/express-middleware.js';
export { StepgateGuard } from './sdk/nest-guard.js';
export type { ExecutionContextLike } from './sdk/nest-guard.js';
export { createDecisionPoint } from './sdk/create-decision-point.js';
export type { InProcessDecisionPoint, InProcessOptions } from './sdk/create-decision-point.js';
