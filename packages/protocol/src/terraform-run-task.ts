import { z } from 'zod';

/**
 * The HCP Terraform / Terraform Enterprise run task protocol, as documented in "Run tasks
 * integration API" (https://developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration):
 * the request HCP Terraform POSTs to a run task's URL, and the result the integration PATCHes
 * to `task_result_callback_url`.
 *
 * The request is not strict: HCP Terraform adds properties over time (`capabilities` came
 * later), and an unknown one must not fail a run. Unknown properties are dropped.
 */

export const TERRAFORM_RUN_TASK_STAGES = [
  'pre_plan',
  'post_plan',
  'pre_apply',
  'post_apply',
] as const;
export type TerraformRunTaskStage = (typeof TERRAFORM_RUN_TASK_STAGES)[number];

/** The stages whose request carries `plan_json_api_url` (documented: post-plan and later). */
export const TERRAFORM_PLAN_STAGES: readonly TerraformRunTaskStage[] = [
  'post_plan',
  'pre_apply',
  'post_apply',
];

/** HCP Terraform ids (`run-…`, `taskrs-…`, `ws-…`): letters, digits, `-` and `_`. */
const id = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be an HCP Terraform id (letters, digits, - and _)');
/** Workspace and organization names: letters, digits, `-` and `_` (HCP Terraform's own rule). */
const name = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,90}$/, 'must be 1-90 letters, digits, - or _ (an HCP Terraform name)');
const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);
const optionalText = z.string().max(4096).nullish();

export const terraformRunTaskRequestSchema = z
  .object({
    payload_version: z.literal(1, 'must be 1 (the only payload version documented)'),
    stage: z.enum(TERRAFORM_RUN_TASK_STAGES),
    /** Bearer token for the callback and the plan JSON; a secret, never logged or stored in clear. */
    access_token: z.string().min(1).max(4096),
    is_speculative: z.boolean(),
    task_result_id: id,
    /** `mandatory` or `advisory`; HCP Terraform's verification request sends `test`. */
    task_result_enforcement_level: z.string().max(32).nullish(),
    task_result_callback_url: httpUrl,
    run_id: id,
    run_app_url: httpUrl.nullish(),
    run_message: optionalText,
    run_created_at: z.string().max(64).nullish(),
    /** Who created the run: the principal the decision is about. */
    run_created_by: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^\s\p{Cc}]+$/u, 'must be a user name without spaces or control characters'),
    workspace_id: id.nullish(),
    workspace_name: name,
    workspace_app_url: httpUrl.nullish(),
    workspace_working_directory: optionalText,
    organization_name: name,
    configuration_version_id: id.nullish(),
    configuration_version_download_url: httpUrl.nullish(),
    plan_json_api_url: httpUrl.nullish(),
    vcs_repo_url: optionalText,
    vcs_branch: optionalText,
    vcs_pull_request_url: optionalText,
    vcs_commit_url: optionalText,
    capabilities: z.object({ outcomes: z.boolean().optional() }).nullish(),
  })
  .superRefine((request, context) => {
    if (TERRAFORM_PLAN_STAGES.includes(request.stage) && !request.plan_json_api_url)
      context.addIssue({
        code: 'custom',
        path: ['plan_json_api_url'],
        message: `is required at the ${request.stage} stage (the plan to decide on)`,
      });
  });
export type TerraformRunTaskRequest = z.infer<typeof terraformRunTaskRequestSchema>;

/** A tag on an outcome: `level` colours it in the HCP Terraform UI. */
const outcomeTagSchema = z.strictObject({
  label: z.string().min(1),
  level: z.enum(['none', 'info', 'warning', 'error']).optional(),
});

/** One detailed outcome (`type: task-result-outcomes`), documented under "Outcomes Payload Body". */
export const terraformTaskOutcomeSchema = z.strictObject({
  type: z.literal('task-result-outcomes'),
  attributes: z.strictObject({
    'outcome-id': z.string().min(1),
    description: z.string().min(1),
    body: z.string().max(1_000_000).optional(),
    url: httpUrl.optional(),
    tags: z.record(z.string().min(1), z.array(outcomeTagSchema)).optional(),
  }),
});
export type TerraformTaskOutcome = z.infer<typeof terraformTaskOutcomeSchema>;

/** The callback body (`PATCH :callback_url`, `Content-Type: application/vnd.api+json`). */
export const terraformTaskResultSchema = z.strictObject({
  data: z.strictObject({
    type: z.literal('task-results'),
    attributes: z.strictObject({
      status: z.enum(['running', 'passed', 'failed']),
      message: z.string().optional(),
      url: httpUrl.optional(),
    }),
    relationships: z
      .strictObject({
        outcomes: z.strictObject({ data: z.array(terraformTaskOutcomeSchema) }),
      })
      .optional(),
  }),
});
export type TerraformTaskResult = z.infer<typeof terraformTaskResultSchema>;
