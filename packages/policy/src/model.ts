/**
 * The plain-data shapes of the language. Everything in a CompiledPolicySet is
 * JSON-serialisable, so the control plane can ship it and an agent can load it.
 */

export type Effect = 'allow' | 'deny' | 'step_up';
export type RuleMode = 'enforce' | 'audit';
export type OnError = 'deny' | 'ignore';

export interface Level {
  name: string;
  acr: string[];
  amr: string[];
}

/**
 * A trusted issuer of bearer tokens (OIDC / OAuth), from `issuers:` in stepgate.yaml. Agents
 * verify tokens offline with the issuer's JWKS, which the control plane fetches from
 * `jwksUrl` and ships beside the policy set in the signed bundle (or which is given inline).
 */
export interface IssuerSettings {
  /** Exact `iss` value. */
  issuer: string;
  /** Accepted `aud` values (any one must be present in the token). */
  audience: string[];
  jwksUrl?: string;
  /** Inline keys (for issuers the control plane cannot reach, and tests). */
  jwks?: { keys: Record<string, unknown>[] };
  /** Accepted JWS algorithms; never `none` or an HMAC. */
  algorithms: string[];
  /** Seconds of clock skew tolerated on `exp`, `nbf`, `iat` and `auth_time`. */
  clockSkew: number;
  /** Which claims become the principal. */
  claims: {
    principal: string;
    roles?: string;
    groups?: string;
    attributes: string[];
    /** A CI system's token: its claims become the principal's pipeline attributes. */
    shape?: ClaimShape;
  };
  /** How HTTP step-up challenges are phrased for this issuer's tokens. */
  challenge: 'rfc9470' | 'insufficient_claims';
}

/** The claim shapes of CI systems' OIDC tokens, mapped to the same principal attributes. */
export type ClaimShape = 'github-actions' | 'gitlab-ci';

/** Every {@link ClaimShape}, for schemas. */
export const CLAIM_SHAPES: readonly ClaimShape[] = ['github-actions', 'gitlab-ci'];

export interface Settings {
  defaultEffect: 'allow' | 'deny';
  onError: OnError;
  levels: Level[];
  issuers: IssuerSettings[];
  /** Input paths removed from decision logs before they leave the agent. */
  mask: string[];
  /**
   * Live data documents (`liveData:` in stepgate.yaml), written through the admin API and read
   * by conditions as `data.<name>`. Absent when none is declared.
   */
  liveData?: Record<string, LiveDataDeclaration>;
  /** Risk signals kept per principal (`signals:`), read as `signals.<name>`. Absent when none. */
  signals?: Record<string, SignalDeclaration>;
  /**
   * URLs the control plane polls to feed live data documents (`dataSources:`), at most one per
   * document. Absent when none is declared.
   */
  dataSources?: DataSourceDeclaration[];
  /**
   * The activation gate (`activation:`): a new version whose replay of the last 24 h changes
   * more decisions than `maxChanged` is not auto-activated. Absent when none is declared.
   */
  activation?: ActivationSettings;
  /** Web console sign-in (`console:`). Absent when none is declared. */
  console?: ConsoleSettings;
}

/** The scopes a console sign-in may grant: never `admin` (token only) nor `agent`. */
export const CONSOLE_SCOPES = ['operator', 'viewer', 'approver', 'data', 'events'] as const;
export type ConsoleScope = (typeof CONSOLE_SCOPES)[number];

/** Web console sign-in, read by the control plane only (agents ignore it). */
export interface ConsoleSettings {
  oidc?: ConsoleOidcSettings;
}

/**
 * OIDC sign-in for the console: the browser runs the authorization code flow with PKCE at
 * `issuer` as the public client `clientId`, and sends the ID token to the admin API.
 */
export interface ConsoleOidcSettings {
  /** Exact `iss`. */
  issuer: string;
  /** Must be in the token's `aud`. */
  clientId: string;
  scopes: string[];
  /** Claim path whose string value becomes the principal subject. */
  subjectClaim: string;
  /** Claim path holding group or role names (a string or a list of strings). */
  rolesClaim: string;
  /** Stepgate scopes granted per rolesClaim value. */
  roles: Record<string, ConsoleScope[]>;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
  clockSkew: number;
}

/** A limit on changed decisions: a share of the replayed ones, or a count. */
export type MaxChanged = { percent: number } | { count: number };

export interface ActivationSettings {
  maxChanged: MaxChanged;
}

/** How a data source's body becomes a value: parsed JSON, a list of lines, or CSV rows. */
export type DataSourceFormat = 'json' | 'lines' | 'csv';

/** Every {@link DataSourceFormat}, for schemas. */
export const DATA_SOURCE_FORMATS: readonly DataSourceFormat[] = ['json', 'lines', 'csv'];

/**
 * One data source: the control plane fetches `url` every `every` seconds and publishes the
 * parsed body as the live data document `name` (declared in `liveData:`, whose schema checks
 * every fetched value).
 */
export interface DataSourceDeclaration {
  name: string;
  url: string;
  /** Seconds between fetches. */
  every: number;
  format: DataSourceFormat;
  /**
   * Request headers; values may hold `${DATA_SOURCE_...}` references to the control plane's
   * environment, resolved when fetching (so secrets stay out of the repository).
   */
  headers?: Record<string, string>;
  /** Largest body read, in bytes. */
  maxBytes: number;
  /** Seconds one whole fetch may take. */
  timeout: number;
}

/** One live data document: its JSON Schema (2020-12, parsed) and the value it has until written. */
export interface LiveDataDeclaration {
  schema: Record<string, unknown>;
  default: unknown;
}

/** How a signal aggregates the events of its type over its window. */
export type SignalAggregate = 'count' | 'exists' | 'last' | 'distinct';

/** Every {@link SignalAggregate}, for schemas. */
export const SIGNAL_AGGREGATES: readonly SignalAggregate[] = [
  'count',
  'exists',
  'last',
  'distinct',
];

/** One risk signal: which events, over how long (whole seconds), aggregated how. */
export interface SignalDeclaration {
  event: string;
  window: number;
  aggregate: SignalAggregate;
  /** The event attribute `last` and `distinct` read; absent for `count` and `exists`. */
  field?: string;
}

/** A step-up requirement; every part is optional. `maxAge` is in whole seconds. */
export interface Requirement {
  level?: string;
  maxAge?: number;
  approvals?: number;
}

/** The name of one part of a {@link Requirement}. */
export type RequirementPart = 'level' | 'maxAge' | 'approvals';

/** The parts of a requirement in the order they are always listed. */
export const REQUIREMENT_PARTS: readonly RequirementPart[] = ['level', 'maxAge', 'approvals'];

export interface CompiledRule {
  name: string;
  effect: Effect;
  mode: RuleMode;
  when?: string;
  require?: Requirement;
  message?: string;
}

export interface CompiledPolicy {
  name: string;
  description?: string;
  /** Repository-relative file the policy came from, for reasons and error messages. */
  file: string;
  target: { actions?: string[]; resources?: string[] };
  /** Label selector: the policy applies only on agents carrying all these labels. */
  agents?: Record<string, string>;
  rules: CompiledRule[];
}

export const POLICY_SET_FORMAT = 'stepgate.policy-set/v1';

/** A subject or resource declared in a `kind: Entities` document: an AuthZEN search candidate. */
export interface DeclaredEntity {
  type: string;
  id: string;
  properties?: Record<string, unknown>;
}

/** Every `kind: Entities` document of a repository, merged in file order. */
export interface Entities {
  subjects: DeclaredEntity[];
  resources: DeclaredEntity[];
  actions: string[];
}

export interface CompiledPolicySet {
  format: typeof POLICY_SET_FORMAT;
  settings: Settings;
  policies: CompiledPolicy[];
  data: Record<string, unknown>;
  /** Absent when the repository declares no entities (such a set is as it was before them). */
  entities?: Entities;
}

/** What a caller asks about. Evidence of authentication is passed separately, never here. */
export interface DecisionRequest {
  principal: {
    id: string;
    roles?: string[];
    groups?: string[];
    attributes?: Record<string, unknown>;
  };
  action: string;
  /** Properties of the action (AuthZEN's `action.properties`): `actionAttributes` in conditions. */
  actionAttributes?: Record<string, unknown>;
  resource: { kind: string; id: string; attributes?: Record<string, unknown> };
  context?: Record<string, unknown>;
}

/**
 * Verified authentication evidence (from a token or grant the caller's agent checked itself).
 * `level` may be omitted when `acr`/`amr` map to one through the settings' levels.
 */
export interface AuthEvidence {
  level?: string;
  acr?: string;
  amr?: string[];
  authTime?: Date | string;
  approvals?: string[];
  grants?: string[];
}

export interface Reason {
  policy: string;
  rule: string;
  effect: Effect;
  message?: string;
}

export interface RuleError {
  policy: string;
  rule: string;
  message: string;
  /** `cel/cost` when the condition went over its cost budget; absent for other errors. */
  code?: 'cel/cost';
}

export interface Decision {
  effect: Effect;
  /**
   * On `step_up`: the complete merged requirement of every unmet step-up rule (highest level,
   * shortest maxAge, most approvals), so that one step-up meets it; never on allow or deny.
   */
  require?: Requirement;
  /** On `step_up`: the parts of `require` the evidence does not meet, in REQUIREMENT_PARTS order. */
  unmet?: RequirementPart[];
  reasons: Reason[];
  /** Matching `mode: audit` rules: reported, never enforced. */
  audit?: Reason[];
  errors?: RuleError[];
  revision: number;
  decisionId: string;
  durationNs: number;
}
