import { z } from 'zod';
import { DURATION_PATTERN } from '../duration.js';
import { CLAIM_SHAPES, DATA_SOURCE_FORMATS, SIGNAL_AGGREGATES } from '../model.js';
import { LIVE_NAME } from './live-name.js';

/**
 * The file formats of a policy repository. Strict objects: an unknown field is an error,
 * because a misspelt `whn:` silently ignored would be a rule that always matches.
 */

export const API_VERSION = 'stepgate/v1';

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
    'must be 1-100 letters, digits, "-", "_" or "." and may not contain "/"',
  );

// `.meta()` below only describes fields for the published JSON Schemas (editors); the checks
// that have no JSON Schema form (durations, CEL, globs) stay in the compiler.
const durationOrSeconds = z
  .union([z.string().meta({ pattern: DURATION_PATTERN }), z.number().nonnegative()])
  .meta({ description: 'A duration such as 90s, 5m or 1h30m (the unit written), or seconds.' });

export const requirementSchema = z
  .strictObject({
    level: z.string().min(1).meta({ description: 'A level named in stepgate.yaml.' }).optional(),
    maxAge: durationOrSeconds
      .meta({ description: 'How recent the authentication must be, e.g. 5m (whole seconds).' })
      .optional(),
    approvals: z
      .int()
      .min(0)
      .max(100)
      .meta({ description: 'How many other people must approve.' })
      .optional(),
  })
  .meta({ description: 'What a step-up asks for: a level, a maxAge and/or approvals.' });

export const ruleSchema = z.strictObject({
  name,
  description: z.string().optional(),
  effect: z.enum(['allow', 'deny', 'step_up']),
  when: z
    .string()
    .min(1, 'must not be empty (omit `when` for a rule that always applies)')
    .meta({
      description:
        'A CEL condition over principal, action, actionAttributes, resource, context, auth and data; the rule applies when it is true. Omit it for a rule that always applies.',
    })
    .optional(),
  require: requirementSchema.optional(),
  message: z
    .string()
    .meta({ description: 'Shown to the user who is asked to step up.' })
    .optional(),
  mode: z
    .enum(['enforce', 'audit'])
    .meta({ description: 'audit: record what the rule would decide without applying it.' })
    .optional(),
});

const globList = z
  .array(z.string().min(1))
  .min(1, 'must list at least one pattern (omit it to match everything)')
  .meta({ description: 'Glob patterns (* within a segment, ** across segments, ?, {a,b}).' });

const labelKey = z
  .string()
  .regex(/^[A-Za-z0-9_./-]{1,63}$/, 'label keys are 1-63 letters, digits, "_", ".", "/" or "-"');

/** An input field to remove from decision logs, e.g. `context.ip` or `principal.attributes.email`. */
const maskPath = z
  .string()
  .regex(
    /^(principal|actionAttributes|resource|context)(\.[A-Za-z0-9_-]+)+$/,
    'must be a dotted path under principal, actionAttributes, resource or context, e.g. context.ip',
  );

export const policyDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Policy'),
  name,
  description: z.string().optional(),
  target: z
    .strictObject({ actions: globList.optional(), resources: globList.optional() })
    .meta({ description: 'The actions and resources (kind/id) the policy is about.' })
    .optional(),
  /** Only agents whose labels include all of these receive the policy's effect. */
  agents: z.record(labelKey, z.string().max(63)).optional(),
  // Rules are validated one by one (ruleSchema) so one bad rule does not hide the others' errors.
  rules: z.array(z.unknown()).min(1, 'a policy needs at least one rule').meta({
    description:
      'Every rule of every policy whose target matches is considered: a deny wins, an unmet step_up asks for more, an allow lets through.',
  }),
});
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;
export type RuleDocument = z.infer<typeof ruleSchema>;

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1))]);

/** A dotted claim path (`realm_access.roles`) or a claim name as the token spells it. */
const claimPath = z.string().min(1).max(256);

/** JWS algorithms an issuer may use; `none` and the HMACs (shared secrets) are never accepted. */
export const ISSUER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export const issuerSchema = z.strictObject({
  issuer: z.string().min(1).max(512),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
    error: (issue) =>
      issue.input === undefined
        ? 'is required: the aud value (or list of values) tokens must carry'
        : 'must be a non-empty string or list of strings',
  }),
  jwksUrl: z.string().min(1).max(2048).optional(),
  jwks: z
    .strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(100) })
    .optional(),
  algorithms: z.array(z.string().min(1)).min(1).optional(),
  clockSkew: durationOrSeconds.optional(),
  claims: z
    .strictObject({
      principal: claimPath.optional(),
      roles: claimPath.optional(),
      groups: claimPath.optional(),
      attributes: z.array(claimPath).max(50).optional(),
      /** A CI system's token (GitHub Actions, GitLab CI): pipeline attributes for the principal. */
      shape: z.enum(CLAIM_SHAPES).optional(),
    })
    .optional(),
  challenge: z.enum(['rfc9470', 'insufficient_claims']).optional(),
});
export type IssuerDocument = z.infer<typeof issuerSchema>;

/**
 * `console:` — how people sign in to the web console. Only `oidc` today: a public client
 * (authorization code + PKCE in the browser) whose ID tokens the admin API accepts.
 */
export const consoleSchema = z.strictObject({
  oidc: z
    .strictObject({
      issuer: z.string().min(1).max(512).meta({
        description:
          'Exact iss of the tokens; discovery at <issuer>/.well-known/openid-configuration.',
      }),
      clientId: z.string().min(1).max(256).meta({
        description:
          "The console's public client id at the issuer (PKCE, no secret); tokens' aud must hold it.",
      }),
      scopes: z
        .array(
          z
            .string()
            .regex(
              /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/,
              'must be an OAuth scope token (no spaces or quotes)',
            ),
        )
        .min(1)
        .max(20)
        .meta({
          description:
            'Scopes the console asks for (default [openid, profile, email]); openid is required.',
        })
        .optional(),
      subjectClaim: claimPath
        .meta({ description: 'The claim that becomes the principal subject (default sub).' })
        .optional(),
      rolesClaim: claimPath.meta({
        description:
          'The claim (dotted path allowed) holding group or role names, a string or a list.',
      }),
      roles: z.record(z.string().min(1).max(256), z.array(z.string().min(1)).min(1).max(10)).meta({
        description:
          'Stepgate scopes granted per value of rolesClaim (operator, viewer, approver, data, events; never admin or agent).',
      }),
      clockSkew: durationOrSeconds
        .meta({
          description: 'Clock skew tolerated on exp, nbf and iat (default 30s, at most 5m).',
        })
        .optional(),
    })
    .meta({ description: 'OIDC sign-in (authorization code + PKCE) for the web console.' })
    .optional(),
});
export type ConsoleDocument = z.infer<typeof consoleSchema>;

const liveName = z
  .string()
  .regex(
    LIVE_NAME,
    'must be 1-63 lowercase letters, digits or "_", starting with a letter (and not "constructor" or "prototype", which reach JavaScript\'s object internals)',
  );

export const liveDataSchema = z
  .strictObject({
    description: z.string().optional(),
    schema: z.string().min(1).meta({
      description:
        'Path of a JSON Schema (2020-12) file in the policy repository, from its root, e.g. schemas/blocked-ips.json; every written value must match it.',
    }),
    default: z.unknown().meta({
      description: 'The value conditions read until one is written; must match the schema.',
    }),
  })
  .meta({
    description: 'A live data document: written through the admin API, read as data.<name>.',
  });
export type LiveDataDocument = z.infer<typeof liveDataSchema>;

export const signalSchema = z
  .strictObject({
    description: z.string().optional(),
    event: z
      .string()
      .min(1)
      .max(256)
      .meta({ description: 'The event type that counts, e.g. login_failed.' }),
    field: z
      .string()
      .min(1)
      .max(256)
      .meta({ description: 'The event attribute last and distinct read (not for count, exists).' })
      .optional(),
    window: durationOrSeconds.meta({
      description: 'How far back events count, e.g. 1h or 24h (whole seconds, at most 90d).',
    }),
    aggregate: z.enum(SIGNAL_AGGREGATES).meta({
      description:
        'count: events in the window (int); exists: any (bool); last: the field of the latest (null when none); distinct: distinct values of the field (int).',
    }),
  })
  .meta({ description: 'A risk signal kept per principal, read as signals.<name>.' });
export type SignalDocument = z.infer<typeof signalSchema>;

/** An HTTP header name (an RFC 9110 token). */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name, e.g. Authorization');

export const dataSourceSchema = z
  .strictObject({
    name: liveName.meta({
      description: 'The live data document (declared under liveData) that the fetched value feeds.',
    }),
    description: z.string().optional(),
    url: z.string().min(1).max(2048).meta({
      description:
        'The http(s) URL polled, without credentials (give them in headers, from environment variables).',
    }),
    every: durationOrSeconds.meta({
      description: 'Time between fetches, e.g. 5m (at least 1s; 10s or more outside tests).',
    }),
    format: z.enum(DATA_SOURCE_FORMATS).meta({
      description:
        'json: the parsed body; lines: one string per line, blank lines and ";" or "#" comments dropped (threat-feed lists); csv: one object per row, keyed by the header row.',
    }),
    headers: z
      .record(headerName, z.string().max(8192))
      .meta({
        description:
          'Request headers. A value may reference a control-plane environment variable as ${DATA_SOURCE_NAME} (the name must start with DATA_SOURCE_), resolved when fetching.',
      })
      .optional(),
    maxBytes: z
      .int()
      .positive()
      .meta({ description: 'Largest body read, in bytes (default 10 MiB, at most 64 MiB).' })
      .optional(),
    timeout: durationOrSeconds
      .meta({ description: 'Time limit of one whole fetch (default 10s, at most 5m).' })
      .optional(),
  })
  .meta({ description: 'A URL the control plane polls and publishes as a live data document.' });
export type DataSourceDocument = z.infer<typeof dataSourceSchema>;

export const settingsDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Settings'),
  defaultEffect: z
    .enum(['allow', 'deny'])
    .meta({ description: 'The effect when no rule applies (default deny).' })
    .optional(),
  onError: z
    .enum(['deny', 'ignore'])
    .meta({ description: 'What a rule whose condition fails at run time does (default deny).' })
    .optional(),
  levels: z
    .array(
      z.strictObject({
        name,
        description: z.string().optional(),
        acr: stringOrList.optional(),
        amr: stringOrList.optional(),
      }),
    )
    .meta({ description: 'Authentication levels, weakest first, each met by an acr or amr.' })
    .optional(),
  /** Input fields removed from decision records before they leave the agent. */
  mask: z.array(maskPath).max(100).optional(),
  /** Trusted issuers of bearer tokens (OIDC / OAuth). */
  issuers: z.array(issuerSchema).max(50).optional(),
  /** Live data documents by name, read by conditions as `data.<name>`. */
  liveData: z
    .record(liveName, liveDataSchema)
    .meta({
      description:
        'Live data documents by name: fast-moving facts (blocklists, freeze switches) written through the admin API instead of Git, read by conditions as data.<name>.',
    })
    .optional(),
  /** Risk signals by name, read by conditions as `signals.<name>`. */
  signals: z
    .record(liveName, signalSchema)
    .meta({
      description:
        "Risk signals by name, aggregated per principal from posted events and read by conditions as signals.<name> (the request's principal).",
    })
    .optional(),
  /** URLs the control plane polls into live data documents. */
  dataSources: z
    .array(dataSourceSchema)
    .meta({
      description:
        'URLs the control plane polls (threat feeds, on-call schedules, CMDB exports) and publishes as live data documents.',
    })
    .optional(),
  /** Web console sign-in (OIDC); the control plane alone reads it. */
  console: consoleSchema
    .meta({
      description:
        'Web console sign-in: an OIDC issuer and how its group claims map to Stepgate scopes.',
    })
    .optional(),
  /** The activation gate: how much a new version may change before it waits for an operator. */
  activation: z
    .strictObject({
      maxChanged: z.union([
        z
          .string()
          .regex(/^(?:100|[0-9]{1,2})(?:\.[0-9]{1,3})?%$/, 'a share such as "1%" (0% to 100%)'),
        z.int().nonnegative(),
      ]),
    })
    .meta({
      description:
        'Holds auto-activation of a new version whose replay of the last 24 h changes more decisions than maxChanged: a share of the replayed decisions ("1%") or a count (50). The version stays ready; an operator may still activate it with a reason.',
    })
    .optional(),
});
export type SettingsDocument = z.infer<typeof settingsDocumentSchema>;

const authInput = z.strictObject({
  level: z.string().optional(),
  acr: z.string().optional(),
  amr: z.array(z.string()).optional(),
  authTime: z.union([z.string(), z.date()]).optional(),
  approvals: z.array(z.string()).optional(),
  grants: z.array(z.string()).optional(),
});

const testInput = z.strictObject({
  principal: z.strictObject({
    id: z.string().min(1),
    roles: z.array(z.string()).optional(),
    groups: z.array(z.string()).optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  }),
  action: z.string().min(1),
  actionAttributes: z.record(z.string(), z.unknown()).optional(),
  resource: z.strictObject({
    kind: z.string(),
    id: z.string(),
    attributes: z.record(z.string(), z.unknown()).optional(),
  }),
  context: z.record(z.string(), z.unknown()).optional(),
  auth: authInput.optional(),
  signals: z
    .record(z.string(), z.unknown())
    .meta({
      description:
        "The principal's risk signals by name (declared in stepgate.yaml); an absent one reads its zero value.",
    })
    .optional(),
  data: z
    .record(z.string(), z.unknown())
    .meta({
      description:
        'Values of live data documents (declared in stepgate.yaml liveData) for this case, each checked against its schema; an absent one reads its default. Git data cannot be overridden.',
    })
    .optional(),
});

const timestamp = z
  .union([z.string(), z.date()])
  .meta({ description: 'An RFC 3339 timestamp, e.g. "2026-11-23T10:00:00Z".' });

export const testSuiteDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('TestSuite'),
  name: z.string().min(1),
  description: z.string().optional(),
  now: timestamp.optional(),
  cases: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        now: timestamp.optional(),
        input: testInput,
        expect: z.strictObject({
          effect: z.enum(['allow', 'deny', 'step_up']),
          /** The complete requirement, compared exactly (every part the decision asks for). */
          require: requirementSchema.optional(),
          /** The parts of the requirement the case's `auth` leaves unmet, in any order. */
          unmet: z
            .array(z.enum(['level', 'maxAge', 'approvals']))
            .max(3)
            .optional(),
          rule: z.string().optional(),
        }),
      }),
    )
    .min(1, 'a test suite needs at least one case'),
});
export type TestSuiteDocument = z.infer<typeof testSuiteDocumentSchema>;

/**
 * Entity limits, the same as the decision input's (`REQUEST_LIMITS` of @stepgate/protocol,
 * which this package cannot import): a declared entity always fits in a decision request.
 */
const ENTITY_LIMITS = { type: 512, subjectId: 1024, resourceId: 4096, action: 512 } as const;

const entityType = z
  .string()
  .min(1, 'must be a non-empty string')
  .max(ENTITY_LIMITS.type, `may be at most ${ENTITY_LIMITS.type} characters`);
const entityId = (max: number) =>
  z.string().min(1, 'must be a non-empty string').max(max, `may be at most ${max} characters`);
const stringList = z.array(z.string().max(1024)).max(1024);

/** A subject AuthZEN subject search may return; `properties` become the principal's fields. */
export const entitySubjectSchema = z.strictObject({
  type: entityType,
  id: entityId(ENTITY_LIMITS.subjectId),
  /** `roles` and `groups` become `principal.roles`/`groups`, the rest `principal.attributes`. */
  properties: z
    .looseObject({ roles: stringList.optional(), groups: stringList.optional() })
    .optional(),
});

/** A resource AuthZEN resource search may return; `properties` become `resource.attributes`. */
export const entityResourceSchema = z.strictObject({
  type: entityType,
  id: entityId(ENTITY_LIMITS.resourceId),
  properties: z.record(z.string(), z.unknown()).optional(),
});

/**
 * `kind: Entities`: the subjects, resources and action names the AuthZEN search endpoints
 * (`/access/v1/search/subject|resource|action`) consider, each candidate decided by the rules.
 */
export const entitiesDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Entities'),
  name,
  description: z.string().optional(),
  subjects: z.array(entitySubjectSchema).optional(),
  resources: z.array(entityResourceSchema).optional(),
  /** Action names only: a search answers with names, so properties could not be honoured. */
  actions: z.array(entityId(ENTITY_LIMITS.action)).optional(),
});
export type EntitiesDocument = z.infer<typeof entitiesDocumentSchema>;

export { LIVE_NAME };
