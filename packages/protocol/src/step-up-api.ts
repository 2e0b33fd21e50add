import { z } from 'zod';
import { decisionRequestSchema } from './decision-request.js';
import { grantPatternsSchema } from './grant-scope.js';
import { REQUEST_LIMITS, requestLimitProblem } from './request-limits.js';

/**
 * Admin-API shapes of step-up: built-in elevation (TOTP, WebAuthn), grants, approval requests
 * and the control plane's own check endpoint. Strict like the rest of the admin API.
 */

const reason = z.string().trim().min(1).max(1000);

/** Where roles and groups come from, for every body that tries to send them. */
export const ROLES_FROM_POLICY_DATA =
  'roles and groups are not taken from requests: they come from the policy data of the active version (data.people in the policy repository) and from the verified token (issuers: claims in stepgate.yaml)';

/** Duration in seconds a grant should live; the control plane caps it (STEPGATE_GRANT_MAX_TTL). */
const ttlSeconds = z.int().min(30).max(86_400);

/**
 * What an elevation grant should cover; omitted = every action on every resource. Patterns
 * are checked against GRANT_SCOPE_LIMITS here, before a code or an assertion is used up.
 */
export const grantScopeSchema = z.strictObject({
  actions: grantPatternsSchema('actions').optional(),
  resources: grantPatternsSchema('resources').optional(),
  ttlSeconds: ttlSeconds.optional(),
});
export type GrantScope = z.infer<typeof grantScopeSchema>;

/**
 * A one-time enrolment code an admin issued (`POST /v1/enrolment-codes`): needed for a
 * subject's first factor, which the API token alone may not enrol.
 */
const enrolmentCode = z.string().trim().min(16).max(128);

export const totpEnrollRequestSchema = z.strictObject({
  /** Replace an already confirmed factor (needs a current code from it). */
  replace: z.boolean().default(false),
  code: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
  /** The enrolment code for a first factor (a further factor needs a recent elevation instead). */
  enrolmentCode: enrolmentCode.optional(),
});

/** `POST /v1/elevation/totp/confirm`: the new factor's first code confirms it; it grants nothing. */
export const totpConfirmRequestSchema = z.strictObject({
  code: z.string().regex(/^\d{6}$/, 'a TOTP code is 6 digits'),
});

export const totpConfirmResponseSchema = z.object({
  subject: z.string(),
  confirmed: z.literal(true),
  confirmedAt: z.string(),
});
export type TotpConfirmResponse = z.infer<typeof totpConfirmResponseSchema>;

/** `POST /v1/elevation/webauthn/registration/options`: the enrolment code for a first factor. */
export const webauthnRegistrationOptionsRequestSchema = z.strictObject({
  enrolmentCode: enrolmentCode.optional(),
});

/** `POST /v1/enrolment-codes` (admin): a one-time code for `subject`'s first factor. */
export const createEnrolmentCodeRequestSchema = z.strictObject({
  subject: z
    .string()
    .trim()
    .regex(/^[^\s]{1,256}$/, 'a subject is 1-256 characters without spaces'),
  /** How long the code stays usable (default 24 h, at most 7 days). */
  ttlSeconds: z
    .int()
    .min(60)
    .max(7 * 86_400)
    .optional(),
});
export type CreateEnrolmentCodeRequest = z.infer<typeof createEnrolmentCodeRequestSchema>;

export const enrolmentCodeSchema = z.object({
  id: z.string(),
  subject: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: z.string().nullable(),
});
export type EnrolmentCodeView = z.infer<typeof enrolmentCodeSchema>;

/** The creation response: the only time the code itself is shown (only its SHA-256 is kept). */
export const createdEnrolmentCodeSchema = enrolmentCodeSchema.extend({ code: z.string() });
export type CreatedEnrolmentCode = z.infer<typeof createdEnrolmentCodeSchema>;

/**
 * The query of a per-subject list (grants, enrolment codes): `subject`, `all` (include the
 * used, expired or revoked ones, which are hidden by default) and `limit`.
 */
function subjectListQuerySchema() {
  return z.strictObject({
    subject: z.string().max(256).optional(),
    all: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  });
}

/** `all`: include used and expired codes. */
export const enrolmentCodesQuerySchema = subjectListQuerySchema();
export type EnrolmentCodesQuery = z.infer<typeof enrolmentCodesQuerySchema>;

export const totpEnrollResponseSchema = z.object({
  subject: z.string(),
  secret: z.string(),
  otpauthUri: z.string(),
  /** The factor is confirmed by its first code (POST /v1/elevation/totp/confirm). */
  confirmed: z.boolean(),
});
export type TotpEnrollResponse = z.infer<typeof totpEnrollResponseSchema>;

/** `POST /v1/elevation/totp`: a current 6-digit code -> a grant. */
export const totpElevateRequestSchema = grantScopeSchema.extend({
  code: z.string().regex(/^\d{6}$/, 'a TOTP code is 6 digits'),
});
export type TotpElevateRequest = z.infer<typeof totpElevateRequestSchema>;

/** WebAuthn: the browser's JSON (RegistrationResponseJSON / AuthenticationResponseJSON), checked by @simplewebauthn/server. */
export const webauthnResponseRequestSchema = z.strictObject({
  response: z.record(z.string(), z.unknown()),
});
export const webauthnAuthenticationOptionsRequestSchema = grantScopeSchema;

export const grantSchema = z.object({
  id: z.string(),
  subject: z.string(),
  kind: z.enum(['elevation', 'approval']),
  method: z.string(),
  amr: z.array(z.string()),
  level: z.string().nullable(),
  authTime: z.string(),
  approvals: z.array(z.string()),
  actions: z.array(z.string()),
  resources: z.array(z.string()),
  /** The resource kind it is limited to (approval grants: the approved resource's kind). */
  resourceKind: z.string().nullable(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  /** The signed grant (JWS), as agents receive it. */
  jws: z.string().optional(),
});
export type GrantView = z.infer<typeof grantSchema>;

/** `all`: include expired and revoked grants. */
export const grantsQuerySchema = subjectListQuerySchema();
export type GrantsQuery = z.infer<typeof grantsQuerySchema>;

export const revokeGrantRequestSchema = z.strictObject({ reason: reason.optional() });

/** Request fields within the limits every decision API applies (REQUEST_LIMITS). */
const actionName = z.string().trim().min(1).max(REQUEST_LIMITS.action);
const resourceRef = z.strictObject({
  kind: z.string().trim().min(1).max(REQUEST_LIMITS.resourceKind),
  id: z.string().trim().min(1).max(REQUEST_LIMITS.resourceId),
});

const BOUNDED_FIELDS = new Set(['action', 'resource.kind', 'resource.id']);

export const createApprovalRequestSchema = z
  .strictObject({
    action: actionName,
    /** Properties of the action (as AuthZEN's `action.properties`), for the policies. */
    actionAttributes: z.record(z.string(), z.unknown()).optional(),
    resource: resourceRef.extend({ attributes: z.record(z.string(), z.unknown()).optional() }),
    reason,
    /**
     * Refused: the request is decided for the requester (the token's subject, or a CI job's ID
     * token's principal) against the active policies, as POST /v1/check decides, with roles and
     * groups from the policy data. The decision sets how many approvers are needed.
     */
    principal: z
      .custom<never>(() => false, {
        error: () =>
          `principal is not accepted (the request is for the caller's own principal): ${ROLES_FROM_POLICY_DATA}`,
      })
      .optional()
      .meta({ description: 'Refused: roles and groups come from the policy data.' }),
    context: z.record(z.string(), z.unknown()).optional(),
    /**
     * The number of approvals the active policies require comes from their decision, never from
     * the requester: when given, it must equal that number (a 400 says the right one).
     */
    approvals: z.int().min(1).max(100).optional(),
    /** How long the request stays open (seconds). */
    ttlSeconds: ttlSeconds.optional(),
  })
  // The size limits of every decision request, on what the policies will see (the principal's
  // id is the token's subject, checked by the token itself).
  .superRefine((body, context) => {
    const problem = requestLimitProblem({
      principal: { id: '' },
      action: body.action,
      actionAttributes: body.actionAttributes,
      resource: body.resource,
      context: body.context,
    });
    // action and resource's kind and id have their own max above, reported with their path.
    if (problem !== undefined && !BOUNDED_FIELDS.has(problem.field))
      context.addIssue({ code: 'custom', message: problem.message });
  });
export type CreateApprovalRequest = z.infer<typeof createApprovalRequestSchema>;

export const approvalDecisionRequestSchema = z.strictObject({ comment: reason.optional() });

export const approvalSchema = z.object({
  id: z.string(),
  requester: z.string(),
  action: z.string(),
  resource: z.object({ kind: z.string(), id: z.string() }),
  reason: z.string(),
  required: z.int(),
  status: z.enum(['pending', 'approved', 'denied', 'expired']),
  approvals: z.array(
    z.object({ approver: z.string(), at: z.string(), comment: z.string().nullable() }),
  ),
  deniedBy: z.string().nullable(),
  denialComment: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  closedAt: z.string().nullable(),
  grantId: z.string().nullable(),
});
export type ApprovalView = z.infer<typeof approvalSchema>;

export const approvalsQuerySchema = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied', 'expired']).optional(),
  requester: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ApprovalsQuery = z.infer<typeof approvalsQuerySchema>;

/**
 * A complete decision input, as the control plane decides it for `POST /v1/check` and the
 * pipeline gates once the principal is known (checked by the agents' schema and limits).
 */
export const checkRequestSchema = decisionRequestSchema;
export type CheckRequest = z.infer<typeof checkRequestSchema>;

/**
 * A principal in a request body: the id alone. Roles, groups and attributes are refused with
 * a message saying where they come from now.
 */
const principalIdOnly = z
  .looseObject({
    id: z
      .string()
      .trim()
      .min(1)
      .max(REQUEST_LIMITS.principalId)
      .describe('Another principal to ask about; needs the check:any scope.'),
  })
  .superRefine((principal, context) => {
    for (const key of Object.keys(principal)) {
      if (key === 'id') continue;
      context.addIssue({
        code: 'custom',
        path: [key],
        message:
          key === 'roles' || key === 'groups' || key === 'attributes'
            ? `principal.${key} is not accepted: ${ROLES_FROM_POLICY_DATA}`
            : `unknown field "principal.${key}" (allowed: id)`,
      });
    }
  });

/**
 * `POST /v1/check` body: what to do on which resource. The principal is the caller's verified
 * identity (the token's subject, or the claims of a CI job's OIDC token); `principal.id` names
 * another one and needs the `check:any` scope (then grants are not applied).
 */
/** A JSON object field, refused as the decision parser says it: `<field> must be an object`. */
const objectOf = (field: string) =>
  z.record(z.string(), z.unknown(), { error: () => `${field} must be an object` });

export const checkBodySchema = z
  .strictObject({
    principal: principalIdOnly.optional(),
    // Lengths are checked below with the limits' own messages, as every decision API says them.
    action: z.string().trim().min(1),
    // The messages of the decision parser every other decision API uses.
    actionAttributes: objectOf('actionAttributes').optional(),
    resource: z.strictObject({
      kind: z.string().trim().min(1),
      id: z.string().trim().min(1),
      attributes: objectOf('resource.attributes').optional(),
    }),
    context: objectOf('context').optional(),
  })
  .superRefine((body, context) => {
    const problem = requestLimitProblem({
      principal: { id: '' },
      action: body.action,
      actionAttributes: body.actionAttributes,
      resource: body.resource,
      context: body.context,
    });
    if (problem !== undefined)
      context.addIssue({
        code: 'custom',
        path: problem.field.split('.'),
        message: problem.message,
      });
  });
export type CheckBody = z.infer<typeof checkBodySchema>;
