import { z } from 'zod';
import { activationHeldSchema, versionReplaySummarySchema } from './version-impact-api.js';

import { agentIdPrefixSchema, agentIdSchema, decisionReplaySchema } from './agent-protocol.js';
import { approvalSchema, enrolmentCodeSchema, grantSchema } from './step-up-api.js';
import { signalValueSchema } from './signals.js';

/**
 * Request and response shapes of the control plane's admin API (`/v1`). The single source
 * for runtime validation (strict: unknown fields are 400s), TypeScript types and the
 * OpenAPI document.
 */

/**
 * `data`: write live data (`/v1/data`); reading it needs viewer, operator or data.
 * `events`: post security events (`POST /v1/events`), nothing else.
 */
export const SCOPE_NAMES = [
  'admin',
  'operator',
  'viewer',
  'agent',
  'approver',
  'data',
  'events',
  // POST /v1/check about a principal other than the caller's own (verified) one: the answer
  // then never applies grants or approvals, which belong to that principal only.
  'check:any',
] as const;

const reason = z.string().trim().min(1).max(1000);

export const createTokenRequestSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPE_NAMES)).min(1).max(SCOPE_NAMES.length),
    /**
     * The person or workload the token acts for: the principal id grants, approvals and
     * elevations are bound to (a kubectl username, `ci-billing`...). Defaults to `name`.
     */
    subject: z
      .string()
      .trim()
      .regex(/^[^\s]{1,256}$/, 'a subject is 1-256 characters without spaces')
      .optional(),
    /**
     * Agent tokens: the one agent id the token may connect as, bound now (pre-provisioning).
     * Without it, an agent token is bound to the id it first connects as.
     */
    agentId: agentIdSchema.optional(),
    /**
     * Fleet tokens (a DaemonSet's agents, one per node): the token admits any agent id that
     * starts with this prefix, each id bound to it on first connect. Exclusive with `agentId`.
     */
    agentIdPrefix: agentIdPrefixSchema
      .describe(
        'Fleet token: admits every agent id starting with this prefix (e.g. "node-"), each bound to the token on first connect; not with agentId',
      )
      .optional(),
  })
  .refine((body) => body.agentId === undefined || body.scopes.includes('agent'), {
    message: 'only an agent-scoped token is bound to an agent id: add "agent" to scopes',
    path: ['agentId'],
  })
  .refine((body) => body.agentIdPrefix === undefined || body.scopes.includes('agent'), {
    message: 'only an agent-scoped token admits agent ids: add "agent" to scopes',
    path: ['agentIdPrefix'],
  })
  .refine((body) => body.agentId === undefined || body.agentIdPrefix === undefined, {
    message:
      'give agentId (a token for one agent) or agentIdPrefix (a fleet token for every agent id under the prefix), not both',
    path: ['agentIdPrefix'],
  });
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

export const createTokenResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  subject: z.string(),
  scopes: z.array(z.enum(SCOPE_NAMES)),
  /** The agent id an agent token is bound to (null until it first connects). */
  agentId: z.string().nullable(),
  /** A fleet token's agent-id prefix (null for every other token). */
  agentIdPrefix: z.string().nullable(),
  token: z.string(),
});

export const activateRequestSchema = z.strictObject({ reason: reason.optional() });
export type ActivateRequest = z.infer<typeof activateRequestSchema>;

export const rollbackRequestSchema = z.strictObject({
  // A version number may be sent as a JSON number too.
  to: z.union([z.string().trim().min(1).max(64), z.int().positive().transform(String)]).optional(),
  reason,
});
export type RollbackRequest = z.infer<typeof rollbackRequestSchema>;

export const shadowRequestSchema = z.strictObject({ reason: reason.optional() });

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  action: z.string().max(100).optional(),
  status: z.enum(['ready', 'failed']).optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** Audit filters: text filters take a trailing `*` as a prefix match (`version.*`). */
export const auditQuerySchema = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** The event type, e.g. `version.activate`. */
    action: z.string().trim().min(1).max(100).optional(),
    actor: z.string().trim().min(1).max(256).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    /** `nextCursor` of the previous page. */
    cursor: z.string().min(1).max(200).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '"from" must be before "to"',
    path: ['from'],
  });
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const createSourceRequestSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-"'),
  url: z.url({ protocol: /^https?$/ }),
  branch: z.string().trim().min(1).max(255).default('main'),
  path: z.string().trim().min(1).max(1024).default('.'),
  username: z.string().max(255).optional(),
  password: z.string().max(4096).optional(),
  webhookSecret: z.string().min(16).max(255).optional(),
  pollIntervalSeconds: z.int().min(10).max(86_400).optional(),
  autoActivate: z.boolean().default(true),
});
export type CreateSourceRequest = z.infer<typeof createSourceRequestSchema>;

export const versionSchema = z.object({
  id: z.string(),
  number: z.int(),
  sourceId: z.string(),
  sha: z.string(),
  branch: z.string(),
  author: z.string(),
  message: z.string(),
  committedAt: z.string(),
  createdAt: z.string(),
  status: z.enum(['ready', 'failed']),
  bundleHash: z.string().nullable(),
  size: z.int().nullable(),
  forcePush: z.boolean(),
  /**
   * Who pushed or triggered the sync that recorded it: `token:<name>` for a push to the
   * embedded repository or a manual sync, `<forge>:<user>` for a webhook, `poll`, `startup`.
   */
  pushedBy: z.string().nullable(),
  /**
   * It adds, removes or changes a policy that can match a `stepgate:*` action (the control
   * plane's self-protection) compared with the version active when it was recorded: it is
   * never auto-activated and waits for an activation, which the active policies protect.
   */
  protectionChanged: z.boolean(),
  active: z.boolean(),
  shadow: z.boolean(),
  errorCount: z.int(),
  tests: z.object({ passed: z.int(), failed: z.int() }).nullable(),
});
export type VersionView = z.infer<typeof versionSchema>;

export const versionsResponseSchema = z.object({ versions: z.array(versionSchema) });
export type VersionsResponse = z.infer<typeof versionsResponseSchema>;

/**
 * One compile or test error of a version as recorded (the policy compiler's `CompileError`):
 * positions are left out, never null, when unknown.
 */
export const versionErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  file: z.string(),
  /** 1-based position in the file. */
  line: z.int().optional(),
  column: z.int().optional(),
  policy: z.string().optional(),
  rule: z.string().optional(),
  /** CEL errors: the 0-based offset inside the expression. */
  offset: z.int().optional(),
});
export type VersionError = z.infer<typeof versionErrorSchema>;

export const versionDetailSchema = versionSchema.extend({
  errors: z.array(versionErrorSchema),
  testReport: z.unknown(),
  /** The replay the sync ran of this version (null: none, e.g. a failed version). */
  replay: versionReplaySummarySchema.nullable(),
  /** Set while the activation gate holds this version (never once it has been active). */
  activationHeld: activationHeldSchema.nullable(),
});
export type VersionDetail = z.infer<typeof versionDetailSchema>;

/** Activation and rollback: the version now active and the one it replaced (null: none). */
export const activationResponseSchema = z.object({
  revision: z.int(),
  activeVersion: versionSchema,
  from: versionSchema.nullable(),
});
export type ActivationResponse = z.infer<typeof activationResponseSchema>;

/** `POST /v1/versions/:ref/shadow`: the version now in shadow. */
export const shadowResponseSchema = z.object({
  revision: z.int(),
  shadowVersion: versionSchema,
});
export type ShadowResponse = z.infer<typeof shadowResponseSchema>;

/** `DELETE /v1/shadow`: no shadow version any more. */
export const shadowOffResponseSchema = z.object({
  revision: z.int(),
  shadowVersion: z.null(),
});
export type ShadowOffResponse = z.infer<typeof shadowOffResponseSchema>;

export const auditEventSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  details: z.unknown(),
});
export type AuditEventView = z.infer<typeof auditEventSchema>;

export const auditResponseSchema = z.object({
  events: z.array(auditEventSchema),
  /**
   * Pass as `cursor` for the next (older) page; null on the last page. Always sent by this
   * control plane; absent from older ones.
   */
  nextCursor: z.string().nullable().optional(),
});
export type AuditResponse = z.infer<typeof auditResponseSchema>;

export const errorResponseSchema = z.object({
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});

// ---------------------------------------------------------------------------------------------
// Agents, fleet, decision logs, shadow report

const effect = z.enum(['allow', 'deny', 'step_up']);
const isoTime = z.iso.datetime({ offset: true });
/** An exact match, or a prefix when it ends in `*` (`k8s:*`, `prod/*`). */
const matchText = z.string().trim().min(1).max(2048);

export const agentsQuerySchema = z.strictObject({
  status: z.enum(['connected', 'disconnected']).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
export type AgentsQuery = z.infer<typeof agentsQuerySchema>;

export const agentSchema = z.object({
  id: z.string(),
  labels: z.record(z.string(), z.string()),
  /** `connected` only while a replica holds its socket and has refreshed `lastSeenAt` lately. */
  status: z.enum(['connected', 'disconnected']),
  activeRevision: z.int().nullable(),
  shadowRevision: z.int().nullable(),
  /** The live-data revision it persisted (acked) or announced on connecting; 0: none. */
  dataRevision: z.int(),
  lastSeenAt: z.string(),
  lastAckAt: z.string().nullable(),
  connectedAt: z.string().nullable(),
  lastRejection: z.string().nullable(),
  agentVersion: z.string().nullable(),
  /** The agent token this agent id is bound to (null for rows from before binding). */
  tokenId: z.string().nullable(),
  /**
   * It reported (acked or announced) a revision this control plane never issued: a forged or
   * foreign bundle, or a database restored from an older backup. Never counts as converged.
   */
  suspect: z.boolean(),
});
export type AgentView = z.infer<typeof agentSchema>;

export const agentsResponseSchema = z.object({ agents: z.array(agentSchema) });

export const fleetSchema = z.object({
  /** The live revision (bumped by every activation, rollback and shadow change). */
  revision: z.int(),
  /** The revision at which the current active version was activated: what agents must enforce. */
  activeRevision: z.int().nullable(),
  shadowRevision: z.int().nullable(),
  agents: z.object({ total: z.int(), connected: z.int() }),
  /** Connected agents by the active revision they enforce. */
  byRevision: z.array(z.object({ revision: z.int().nullable(), count: z.int() })),
  /**
   * Every connected agent enforces `activeRevision` and none is `suspect` (false with no
   * connected agent).
   */
  converged: z.boolean(),
  /** Connected agents still on an older revision (up to 20). */
  behind: z.array(z.object({ id: z.string(), activeRevision: z.int().nullable() })),
  /**
   * Agents (connected first, up to 20) reporting a revision this control plane never issued
   * (past `revision`): audited as `agent.unknown_revision`.
   */
  suspect: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['active', 'shadow']),
      revision: z.int(),
      status: z.enum(['connected', 'disconnected']),
    }),
  ),
  propagation: z.object({
    activatedAt: z.string().nullable(),
    /** The last acknowledgement of `activeRevision` (or newer) by a connected agent. */
    lastAckAt: z.string().nullable(),
    seconds: z.number().nullable(),
  }),
  /**
   * Live data: the current data revision and the connected agents that have not acked it (up
   * to 20 listed). `converged` above is about bundles only.
   */
  data: z.object({
    revision: z.int(),
    converged: z.boolean(),
    behind: z.array(z.object({ id: z.string(), dataRevision: z.int() })),
  }),
});
export type FleetView = z.infer<typeof fleetSchema>;

/** `<policy>/<rule>` (split at the first `/`: agents' fail-mode rules hold one), or `<policy>/*`. */
const ruleFilterSchema = matchText
  .refine(
    (value) => value.indexOf('/') > 0 && value.length > value.indexOf('/') + 1,
    'a rule is <policy>/<rule>, or <policy>/* for any rule of that policy',
  )
  .refine(
    (value) => !value.endsWith('*') || /^[^/]+\/\*$/.test(value),
    'a prefix match is <policy>/* only (any rule of that policy)',
  );

export const decisionsQuerySchema = z
  .strictObject({
    from: isoTime.optional(),
    to: isoTime.optional(),
    principal: matchText.optional(),
    action: matchText.optional(),
    /** The resource id (exact, or a prefix ending in `*`). */
    resource: matchText.optional(),
    resourceKind: matchText.optional(),
    effect: effect.optional(),
    revision: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
    agent: z.string().min(1).max(128).optional(),
    /**
     * A rule that matched (in `reasons`): `<policy>/<rule>`, or `<policy>/*` for any rule of
     * the policy.
     */
    rule: ruleFilterSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** `nextCursor` of the previous page. */
    cursor: z.string().min(1).max(200).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '"from" must be before "to"',
    path: ['from'],
  });
export type DecisionsQuery = z.infer<typeof decisionsQuerySchema>;

const reasonView = z.object({ policy: z.string(), rule: z.string(), effect });

export const decisionSchema = z.object({
  decisionId: z.string(),
  at: z.string(),
  agentId: z.string(),
  revision: z.int(),
  effect,
  failReason: z.string().nullable(),
  principal: z.string(),
  action: z.string(),
  resource: z.object({ kind: z.string(), id: z.string() }),
  require: z.unknown().nullable(),
  reasons: z.array(reasonView),
  shadow: z
    .object({ effect, revision: z.int().nullable(), reasons: z.array(reasonView) })
    .nullable(),
  /** The live-data revision the decision read (null: the agent held no live data). */
  dataRevision: z.int().nullable(),
  /**
   * The principal's risk-signal values the decision read, by name, zero values included (null:
   * the bundle declared no signals, or an agent from before).
   */
  signals: z.record(z.string(), signalValueSchema).nullable(),
  /**
   * What a replay decides with beside the input: the verified evidence the decision used (never
   * a token) and the masked paths the request had (null: an agent from before replay).
   */
  replay: decisionReplaySchema.nullable(),
  input: z.unknown().nullable(),
  errors: z.int(),
  durationNs: z.number(),
  receivedAt: z.string(),
});
export type DecisionView = z.infer<typeof decisionSchema>;

export const decisionsResponseSchema = z.object({
  decisions: z.array(decisionSchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type DecisionsResponse = z.infer<typeof decisionsResponseSchema>;

/** A time window; defaults to the last 24 hours. */
export const timeRangeQuerySchema = z
  .strictObject({ from: isoTime.optional(), to: isoTime.optional() })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '"from" must be before "to"',
    path: ['from'],
  });
export type TimeRangeQuery = z.infer<typeof timeRangeQuerySchema>;

const principalCounts = z.array(z.object({ principal: z.string(), count: z.int() }));
const ruleCounts = z.array(z.object({ rule: z.string(), count: z.int() }));

export const decisionStatsSchema = z.object({
  from: z.string(),
  to: z.string(),
  total: z.int(),
  byEffect: z.object({ allow: z.int(), deny: z.int(), step_up: z.int() }),
  /** Decisions the agents made by fail mode, by reason (`no_bundle`, `stale_bundle`). */
  byFailReason: z.array(z.object({ reason: z.string(), count: z.int() })),
  topDeniedPrincipals: principalCounts,
  topSteppedUpPrincipals: principalCounts,
  /** `<policy>/<rule>` of the deny rules behind denials. */
  topDenyRules: ruleCounts,
  /** `<policy>/<rule>` of the step-up rules behind step-ups. */
  topStepUpRules: ruleCounts,
});
export type DecisionStats = z.infer<typeof decisionStatsSchema>;

/**
 * A decision id as agents record it (1-64 characters, usually a UUID); anything else cannot
 * name a decision.
 */
export const decisionIdSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (id) => [...id].every((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f),
    'a decision id has no control characters',
  );

/** The most buckets one timeline answers (a day of minutes). */
export const TIMELINE_MAX_BUCKETS = 1440;

/** A window (default: the last hour) cut into buckets of `bucket` seconds (default 60). */
export const decisionTimelineQuerySchema = z
  .strictObject({
    from: isoTime.optional(),
    to: isoTime.optional(),
    bucket: z.coerce
      .number()
      .int()
      .min(1)
      .max(31 * 86_400)
      .default(60),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '"from" must be before "to"',
    path: ['from'],
  });
export type DecisionTimelineQuery = z.infer<typeof decisionTimelineQuerySchema>;

export const decisionTimelineSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucketSeconds: z.int(),
  /**
   * Every bucket from the one holding `from` to the one holding `to`, oldest first, empty ones
   * included (zeros). Buckets are aligned on the Unix epoch (a 60 s bucket starts on a whole
   * UTC minute); only decisions inside [from, to) are counted, so the first and last buckets
   * may cover part of their span.
   */
  buckets: z.array(
    z.object({
      start: z.string(),
      total: z.int(),
      allow: z.int(),
      deny: z.int(),
      step_up: z.int(),
    }),
  ),
});
export type DecisionTimeline = z.infer<typeof decisionTimelineSchema>;

export const shadowReportQuerySchema = z
  .strictObject({
    from: isoTime.optional(),
    to: isoTime.optional(),
    /** Only decisions compared against this shadow revision (default: any). */
    shadowRevision: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '"from" must be before "to"',
    path: ['from'],
  });
export type ShadowReportQuery = z.infer<typeof shadowReportQuerySchema>;

export const shadowReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  /** The shadow version set now (null when none). */
  shadow: z.object({ revision: z.int(), versionNumber: z.int() }).nullable(),
  /** Decisions evaluated against a shadow version in the window. */
  compared: z.int(),
  /** Of those, the ones whose shadow effect differs from the enforced one. */
  divergent: z.int(),
  byEffect: z.array(z.object({ from: effect, to: effect, count: z.int() })),
  /**
   * Rules that matched on one side only in divergent decisions: `side: shadow` rules are new
   * or changed in the shadow version, `side: active` ones no longer match there.
   */
  byRule: z.array(
    z.object({ rule: z.string(), side: z.enum(['shadow', 'active']), effect, count: z.int() }),
  ),
  examples: z.array(decisionSchema),
});
export type ShadowReport = z.infer<typeof shadowReportSchema>;

// ---------------------------------------------------------------------------------------------
// Step-up answers (the request schemas and item shapes are in step-up-api.ts)

export const grantsResponseSchema = z.object({ grants: z.array(grantSchema) });
export type GrantsResponse = z.infer<typeof grantsResponseSchema>;

export const approvalsResponseSchema = z.object({ approvals: z.array(approvalSchema) });
export type ApprovalsResponse = z.infer<typeof approvalsResponseSchema>;

/** Never the codes themselves: only the creation answer (createdEnrolmentCodeSchema) has one. */
export const enrolmentCodesResponseSchema = z.object({ codes: z.array(enrolmentCodeSchema) });
export type EnrolmentCodesResponse = z.infer<typeof enrolmentCodesResponseSchema>;

/** A step-up requirement: the complete one, met parts included. */
const stepUpRequirement = z.object({
  level: z.string().optional(),
  /** Whole seconds (a number, so that a client still reads an older server's answer). */
  maxAge: z.number().optional(),
  approvals: z.int().optional(),
});

/** `POST /v1/check`: the decision as an agent would make it, and how to meet a step-up. */
export const checkResponseSchema = z.object({
  decision: z.object({
    effect,
    /**
     * With effect step_up: the complete merged requirement of every unmet step-up rule, so
     * that one step-up meets it.
     */
    require: stepUpRequirement.optional(),
    /** With effect step_up: the parts of `require` the evidence (the grants) leaves unmet. */
    unmet: z.array(z.enum(['level', 'maxAge', 'approvals'])).optional(),
    reasons: z.array(
      z.object({ policy: z.string(), rule: z.string(), effect, message: z.string().optional() }),
    ),
    audit: z.array(z.object({ policy: z.string(), rule: z.string() })).optional(),
    errors: z
      .array(z.object({ policy: z.string(), rule: z.string(), message: z.string() }))
      .optional(),
    revision: z.int(),
    decisionId: z.string(),
    durationNs: z.number(),
  }),
  /** The authentication levels of the active policies, weakest first. */
  levels: z.array(z.string()),
  /**
   * Who was decided for, and from what: `token` (the calling token's subject), `id-token` (a
   * CI job's or an IdP's OIDC token, verified against `issuers:` in stepgate.yaml) or `asked`
   * (another principal named in the body, with the `check:any` scope). Roles and groups come
   * from the policy data (`data.people`) and the verified token, never from the request.
   */
  principal: z
    .object({
      id: z.string(),
      source: z.enum(['token', 'id-token', 'asked']),
      roles: z.array(z.string()),
      groups: z.array(z.string()),
      attributes: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  /**
   * Whether the principal's grants (elevations, approvals) counted. False when asking about
   * another principal: their grants are theirs, so the answer is what they would get without
   * any step-up; `note` says so.
   */
  grantsApplied: z.boolean().optional(),
  note: z.string().optional(),
  /** How to meet an unmet step-up: commands to run (only with effect step_up). */
  satisfy: z
    .object({
      /** For a level or freshness gap. */
      elevate: z.string().optional(),
      /** For an approval gap, with the number of distinct approvals needed. */
      request: z.string().optional(),
      approvals: z.int().optional(),
    })
    .optional(),
});
export type CheckResponse = z.infer<typeof checkResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Tokens, policy sources and health, as the CLI reads them

/** A token as listed (`GET /v1/tokens`): never the secret, only its first characters. */
export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  subject: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  agentId: z.string().nullable(),
  /** Fleet tokens: the agent ids they admit start with this (each id bound on first connect). */
  agentIdPrefix: z
    .string()
    .nullable()
    .describe('Fleet tokens: the agent ids they admit start with this; null otherwise'),
});
export type TokenView = z.infer<typeof tokenSchema>;
export const tokensResponseSchema = z.object({ tokens: z.array(tokenSchema) });
export type TokensResponse = z.infer<typeof tokensResponseSchema>;
export type CreatedToken = z.infer<typeof createTokenResponseSchema>;

/** A policy source (`GET /v1/sources`): never its credentials or webhook secret. */
export const sourceSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  url: z.string().nullable(),
  branch: z.string(),
  path: z.string(),
  autoActivate: z.boolean(),
  pollIntervalSeconds: z.number().nullable(),
  hasCredentials: z.boolean(),
  hasWebhookSecret: z.boolean(),
  lastSyncedSha: z.string().nullable(),
  lastSyncAt: z.string().nullable(),
  lastSyncError: z.string().nullable(),
});
export type SourceView = z.infer<typeof sourceSchema>;
export const sourcesResponseSchema = z.object({ sources: z.array(sourceSchema) });
export type SourcesResponse = z.infer<typeof sourcesResponseSchema>;
/** `POST /v1/sources/{id}/sync` (202). */
export const syncQueuedSchema = z.object({ queued: z.boolean(), jobId: z.string().nullable() });
export type SyncQueued = z.infer<typeof syncQueuedSchema>;

/** `GET /healthz`: the process answers. */
export const livenessSchema = z.object({ status: z.literal('ok') });

const readinessCheck = z.object({ ok: z.boolean(), error: z.string().optional() });

/** `GET /readyz` (200 ready, 503 not ready, same body). */
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ database: readinessCheck, redis: readinessCheck, git: readinessCheck }),
  dataSources: z
    .array(
      z.object({
        name: z.string(),
        status: z.string(),
        lastSuccessAt: z.string().nullable(),
        lastError: z.string().nullable(),
        consecutiveFailures: z.number(),
      }),
    )
    .optional(),
});
export type Readiness = z.infer<typeof readinessSchema>;
