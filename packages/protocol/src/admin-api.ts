import { z } from 'zod';

/**
 * Request and response shapes of the control plane's admin API (`/v1`). The single source
 * for runtime validation (strict: unknown fields are 400s), TypeScript types and the
 * OpenAPI document.
 */

export const SCOPE_NAMES = ['admin', 'operator', 'viewer', 'agent', 'approver'] as const;

const reason = z.string().trim().min(1).max(1000);

export const createTokenRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPE_NAMES)).min(1).max(SCOPE_NAMES.length),
});
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

export const createTokenResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPE_NAMES)),
  token: z.string(),
});

export const activateRequestSchema = z.strictObject({ reason: reason.optional() });
export type ActivateRequest = z.infer<typeof activateRequestSchema>;

export const rollbackRequestSchema = z.strictObject({
  to: z.string().trim().min(1).max(64).optional(),
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
  active: z.boolean(),
  shadow: z.boolean(),
  errorCount: z.int(),
  tests: z.object({ passed: z.int(), failed: z.int() }).nullable(),
});
export type VersionView = z.infer<typeof versionSchema>;

export const versionDetailSchema = versionSchema.extend({
  errors: z.array(
    z.object({
      code: z.string(),
      message: z.string(),
      file: z.string(),
      line: z.int().optional(),
      column: z.int().optional(),
      policy: z.string().optional(),
      rule: z.string().optional(),
    }),
  ),
  testReport: z.unknown(),
});

export const activationResponseSchema = z.object({
  revision: z.int(),
  activeVersion: versionSchema,
  from: versionSchema.nullable(),
});
export const shadowResponseSchema = z.object({
  revision: z.int(),
  shadowVersion: versionSchema.nullable(),
});

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

export const errorResponseSchema = z.object({
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});
