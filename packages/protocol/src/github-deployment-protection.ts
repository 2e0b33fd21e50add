import { z } from 'zod';

/**
 * The parts of GitHub's `deployment_protection_rule` webhook (action `requested`) that the
 * control plane's deployment protection rule reads, from "Webhook events and payloads"
 * (https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment_protection_rule).
 * Not strict: GitHub's payloads grow (`pull_requests`, `organization`, `enterprise`...), and
 * an unknown field must not refuse a deployment. Unknown fields are dropped.
 */
const login = z.string().min(1).max(256);
const githubUser = z.object({
  login,
  id: z.number().int().optional(),
  type: z.string().optional(),
});

export const githubDeploymentProtectionRuleSchema = z.object({
  action: z.literal('requested'),
  /** The environment's name, as in the workflow's `environment:`. */
  environment: z.string().min(1).max(255),
  /** The event that triggered the run (push, workflow_dispatch...). */
  event: z.string().min(1).max(100),
  /** The review endpoint of the run: `<API>/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`. */
  deployment_callback_url: z.url({ protocol: /^https?$/ }),
  deployment: z.object({
    id: z.number().int(),
    ref: z.string().min(1).max(1024),
    sha: z.string().regex(/^[0-9a-f]{40,64}$/, 'a commit SHA'),
    /** Who triggered the deployment: the actor of the workflow run. */
    creator: githubUser.nullable().optional(),
  }),
  repository: z.object({
    name: z.string().min(1).max(100),
    full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'owner/name'),
  }),
  installation: z.object({ id: z.number().int().positive() }),
  sender: githubUser,
});
export type GitHubDeploymentProtectionRule = z.infer<typeof githubDeploymentProtectionRuleSchema>;

/** What the webhook answers (202). */
export const githubWebhookResultSchema = z.object({
  status: z.enum(['pong', 'ignored', 'approved', 'rejected', 'pending', 'expired']),
  /** The pipeline gate opened for a deployment. */
  gate: z.string().optional(),
  reason: z.string().optional(),
});
export type GitHubWebhookResult = z.infer<typeof githubWebhookResultSchema>;
