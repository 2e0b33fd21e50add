import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { verify } from '@octokit/webhooks-methods';
import {
  githubDeploymentProtectionRuleSchema,
  StepgateError,
  type CheckResponse,
  type GitHubWebhookResult,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/configuration.js';
import { LOGGER } from '../../logging/logger.js';
import type { PipelineGate, PipelineGateOutcome } from '../../pipeline-gates/pipeline-gate.js';
import { PipelineGatesService } from '../../pipeline-gates/pipeline-gates.service.js';
import { outcomeComment, pendingComment } from './deployment-comments.js';
import {
  actorOf,
  deploymentInput,
  reviewTargetOf,
  type ReviewTarget,
} from './deployment-protection-payload.js';
import { GitHubAppClient } from './github-app-client.js';

type Headers = Record<string, string | string[] | undefined>;

export type { GitHubWebhookResult };

const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The control plane as a GitHub App's custom deployment protection rule: a signed
 * `deployment_protection_rule` delivery opens a pipeline gate for the deployment's actor, and
 * the gate's outcome is reported to the run as an approving or rejecting review; while it waits
 * for a step-up, a status report (a review without a state) says what to do.
 */
@Injectable()
export class GitHubDeploymentsService implements OnModuleInit {
  private readonly client?: GitHubAppClient;

  constructor(
    private readonly gates: PipelineGatesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    if (config.github) this.client = new GitHubAppClient(config.github);
  }

  onModuleInit(): void {
    const client = this.client;
    if (!client) return;
    this.gates.register('github', {
      resolve: (gate: PipelineGate, outcome: PipelineGateOutcome) =>
        client.review(gate.target as unknown as ReviewTarget, {
          state: outcome.effect === 'allow' ? 'approved' : 'rejected',
          comment: outcomeComment(gate, outcome),
        }),
      pending: (gate: PipelineGate, response: CheckResponse) =>
        client.review(gate.target as unknown as ReviewTarget, {
          comment: pendingComment(gate, response, this.config.publicUrl),
        }),
    });
  }

  /**
   * Verifies the signature, refuses a replayed delivery, validates the payload, then opens
   * the gate. Nothing is recorded for a delivery refused on the way.
   */
  async receive(headers: Headers, rawBody: Buffer | undefined): Promise<GitHubWebhookResult> {
    const github = this.config.github;
    if (!github)
      throw new StepgateError(
        'route/not_found',
        'the GitHub deployment protection rule is not configured: set STEPGATE_GITHUB_APP_ID, STEPGATE_GITHUB_APP_PRIVATE_KEY(_FILE) and STEPGATE_GITHUB_WEBHOOK_SECRET',
      );
    const signature = header(headers, 'x-hub-signature-256');
    const body = rawBody?.toString('utf8') ?? '';
    const valid =
      signature !== undefined &&
      (await verify(github.webhookSecret, body, signature).catch(() => false));
    if (!valid) {
      this.logger.warn(
        { delivery: header(headers, 'x-github-delivery') },
        'GitHub webhook refused: X-Hub-Signature-256 missing or wrong',
      );
      throw new StepgateError(
        'webhook/bad_signature',
        "X-Hub-Signature-256 is missing or does not match the body: check STEPGATE_GITHUB_WEBHOOK_SECRET against the App's webhook secret",
      );
    }
    const event = header(headers, 'x-github-event');
    if (event === 'ping') return { status: 'pong' };
    if (event !== 'deployment_protection_rule')
      return {
        status: 'ignored',
        reason: `event ${event ?? '(none)'} is not deployment_protection_rule`,
      };
    const delivery = header(headers, 'x-github-delivery');
    if (!delivery || !/^[A-Za-z0-9-]{1,100}$/.test(delivery))
      throw new StepgateError(
        'request/invalid',
        'X-GitHub-Delivery: a delivery id (GUID) is required',
        [{ path: 'X-GitHub-Delivery', message: 'missing or not a GUID' }],
      );
    const payload = parsePayload(body);
    const target = reviewTargetOf(payload, github.apiUrl);
    if (!target)
      throw new StepgateError(
        'request/invalid',
        `invalid deployment_protection_rule payload: deployment_callback_url must be ${github.apiUrl}/repos/${payload.repository.full_name}/actions/runs/<run id>/deployment_protection_rule (STEPGATE_GITHUB_API_URL)`,
        [
          {
            path: 'deployment_callback_url',
            message: "not the review endpoint of the payload's repository",
          },
        ],
      );
    if (!(await this.gates.recordDelivery('github', delivery)))
      throw new StepgateError(
        'webhook/replayed',
        `delivery ${delivery} was received before: a replayed delivery is refused`,
      );
    const actor = actorOf(payload);
    try {
      const gate = await this.gates.open({
        kind: 'github',
        principal: actor,
        input: deploymentInput(payload, target),
        target: { ...target },
        actor: `github:${payload.sender.login}`,
        approvalReason: `GitHub deployment of ${payload.repository.full_name}@${payload.deployment.sha.slice(0, 12)} (${payload.deployment.ref}) to ${payload.environment}, run ${target.runId}`,
      });
      return { status: gate.status === 'pending' ? 'pending' : gate.status, gate: gate.id };
    } catch (error) {
      // Not processed: a redelivery from GitHub's App settings must be.
      await this.gates.forgetDelivery('github', delivery);
      throw error;
    }
  }
}

function parsePayload(body: string) {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new StepgateError(
      'request/invalid',
      'invalid deployment_protection_rule payload: the body is not JSON',
    );
  }
  const parsed = githubDeploymentProtectionRuleSchema.safeParse(json);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    }));
    throw new StepgateError(
      'request/invalid',
      `invalid deployment_protection_rule payload: ${details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  return parsed.data;
}
