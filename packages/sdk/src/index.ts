/**
 * @stepgate/sdk — Stepgate inside a Node service: the embeddable decision point of
 * `@stepgate/agent-core` (signed bundles verified against the control plane's keys, synchronous
 * in-process decisions, fail mode, decision-log buffer), with Express middleware and a NestJS
 * guard on top. Neither Express nor NestJS is imported: both adapters are structural, so the
 * peer dependencies are optional and only state the versions they are tested with.
 *
 * ```ts
 * const sdk = await createDecisionPoint({ trustedKeys: jwks, bundle: jws });
 * app.use(expressMiddleware(sdk.point));            // Express
 * app.useGlobalGuards(new StepgateGuard(sdk.point)); // NestJS
 * ```
 */
export {
  acrValuesFor,
  BundleStore,
  createDecisionPoint,
  DecisionPoint,
  defaultMapRequest,
  describeRequirement,
  enforce,
  expressMiddleware,
  httpDecisionRequest,
  LogBuffer,
  silentLogger,
  StepgateGuard,
  stepUpChallenge,
  systemClock,
  TrustStore,
} from '@stepgate/agent-core';
export type {
  AgentDecision,
  ChallengeStyle,
  Clock,
  DecisionPointLike,
  DecisionPointOptions,
  DecisionPointStatus,
  Enforcement,
  EnforcementOptions,
  ExecutionContextLike,
  FailMode,
  HttpRequestLike,
  HttpResponseLike,
  InProcessDecisionPoint,
  InProcessOptions,
  Logger,
  NextFunction,
  OfferResult,
  StepUpChallenge,
} from '@stepgate/agent-core';
export type { AuthEvidence, DecisionRequest, Level } from '@stepgate/policy';
