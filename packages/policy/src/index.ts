/**
 * @stepgate/policy — the Stepgate policy language: parse, validate, compile CEL, evaluate,
 * and run policy tests. Pure: it reads no files and opens no sockets; callers pass text in.
 */
export { compile } from './compile/compile.js';
export type { CompileOptions, CompileResult } from './compile/compile.js';
export type { SourceFile } from './compile/source-file.js';
export {
  DEFAULT_POLICY_FILE_LIMITS,
  isPolicyFilePath,
  isPolicyFolder,
} from './source/policy-file-selection.js';
export type { PolicyFileLimits } from './source/policy-file-selection.js';
export { attributeName, fetchableUrl, SETTINGS_FILE } from './compile/compile-settings.js';
export { claimAt, claimStrings } from './claims.js';
export { IssuerTokenVerifier, TokenVerificationError } from './evidence/issuer-token-verifier.js';
export type {
  IssuerTokenVerifierOptions,
  TokenRejection,
  TrustedIssuers,
  VerifiedToken,
} from './evidence/issuer-token-verifier.js';
export { pipelineAttributes } from './evidence/pipeline-claims.js';
export type { PipelineAttribute } from './evidence/pipeline-claims.js';
export { formatCompileError, PolicySetError } from './errors.js';
export { exceedsMaxChanged, formatMaxChanged, parseMaxChanged } from './activation-gate.js';
export type { CompileError, CompileErrorCode } from './errors.js';
export { PolicyEngine } from './evaluate/engine.js';
export { approverKey, countApprovals } from './evaluate/step-up.js';
export { decideWithGrants, grantsMayImprove } from './evaluate/decide-with-grants.js';
export type {
  DecideWithGrantsInput,
  EvidenceDecider,
  GrantedDecision,
  GrantEvidence,
  GrantKind,
} from './evaluate/decide-with-grants.js';
export type { DecideOptions, EngineOptions } from './evaluate/engine.js';
export { signalZeroValue, validateLiveDocument } from './evaluate/live-data.js';
export type { LiveData } from './evaluate/live-data.js';
export { InvalidRequestError, normalizeRequest } from './evaluate/request.js';
export { cidrContains, parseCidr, parseIp } from './cel/ip.js';
export type { Cidr, IpAddress } from './cel/ip.js';
export { runTestSuites, describeDecision, describeExpectation } from './testing/run-tests.js';
export type { CaseResult, ProgressListener, SuiteResult, TestReport } from './testing/run-tests.js';
export type { TestCase, TestExpectation, TestSuite } from './testing/test-suite.js';
export { parsePolicySet, compiledPolicySetSchema } from './bundle/policy-set.js';
export { DOCUMENT_KINDS, documentJsonSchema } from './source/document-kinds.js';
export type { DocumentKind } from './source/document-kinds.js';
export { parseDuration, formatDuration, notADuration } from './duration.js';
export { globMatch, literalPrefix } from './glob.js';
export type { GlobError } from './glob.js';
export {
  CONSOLE_SCOPES,
  DATA_SOURCE_FORMATS,
  POLICY_SET_FORMAT,
  REQUIREMENT_PARTS,
  SIGNAL_AGGREGATES,
} from './model.js';
export {
  DATA_SOURCE_ENV_PREFIX,
  dataSourceUrlProblem,
  headerReferences,
  resolveHeaders,
  shownDataSourceUrl,
} from './compile/data-sources.js';
export type {
  AuthEvidence,
  ClaimShape,
  CompiledPolicy,
  CompiledPolicySet,
  CompiledRule,
  ConsoleOidcSettings,
  ConsoleScope,
  ConsoleSettings,
  DataSourceDeclaration,
  DataSourceFormat,
  Decision,
  DecisionRequest,
  DeclaredEntity,
  Effect,
  Entities,
  IssuerSettings,
  Level,
  LiveDataDeclaration,
  OnError,
  Reason,
  Requirement,
  RequirementPart,
  RuleError,
  RuleMode,
  Settings,
  ActivationSettings,
  MaxChanged,
  SignalAggregate,
  SignalDeclaration,
} from './model.js';
