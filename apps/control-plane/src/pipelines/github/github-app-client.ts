import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import type { ReviewTarget } from './deployment-protection-payload.js';

export interface GitHubAppSettings {
  appId: string;
  privateKey: string;
  /** https://api.github.com, or https://<host>/api/v3 (GitHub Enterprise Server). */
  apiUrl: string;
}

/** Octokit's request timeout: well under the pipeline gate's claim lease. */
const REQUEST_TIMEOUT_MS = 20_000;

/**
 * The GitHub App acting as the deployment protection rule: authenticates as the installation
 * (a JWT signed with the App's private key buys an installation token, which @octokit/auth-app
 * caches until shortly before it expires) and reviews the run's custom gate through
 * `POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`
 * (https://docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run).
 */
export class GitHubAppClient {
  private readonly installations = new Map<number, Octokit>();

  constructor(private readonly settings: GitHubAppSettings) {}

  /** Approves or rejects (`state`), or with no state posts a status report only. */
  async review(
    target: ReviewTarget,
    body: { state?: 'approved' | 'rejected'; comment: string },
  ): Promise<void> {
    await this.installation(target.installationId).request(
      'POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule',
      {
        owner: target.owner,
        repo: target.repo,
        run_id: target.runId,
        environment_name: target.environment,
        comment: body.comment,
        ...(body.state ? { state: body.state } : {}),
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      },
    );
  }

  private installation(installationId: number): Octokit {
    let octokit = this.installations.get(installationId);
    if (!octokit) {
      octokit = new Octokit({
        baseUrl: this.settings.apiUrl,
        userAgent: 'stepgate-deployment-protection-rule',
        authStrategy: createAppAuth,
        auth: {
          appId: this.settings.appId,
          privateKey: this.settings.privateKey,
          installationId,
        },
      });
      this.installations.set(installationId, octokit);
    }
    return octokit;
  }
}
