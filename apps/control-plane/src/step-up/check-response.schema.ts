import { z } from 'zod';

/**
 * `POST /v1/check` answer. Kept here (not in the protocol package) until the CLI needs to
 * parse it with zod; the OpenAPI document is generated from it.
 */
const requirementSchema = z.object({
  level: z.string().optional(),
  /** Seconds. */
  maxAge: z.number().optional(),
  approvals: z.int().optional(),
});

export const checkResponseSchema = z.object({
  decision: z.object({
    effect: z.enum(['allow', 'deny', 'step_up']),
    /** Only the unmet parts of the requirement. */
    require: requirementSchema.optional(),
    reasons: z.array(
      z.object({
        policy: z.string(),
        rule: z.string(),
        effect: z.enum(['allow', 'deny', 'step_up']),
        message: z.string().optional(),
      }),
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
