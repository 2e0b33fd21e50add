import { githubDeploymentProtectionRuleSchema } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { actorOf, deploymentInput, reviewTargetOf } from './deployment-protection-payload.js';

const API = 'https://github.example.com/api/v3';

/** The fields GitHub's webhook documentation shows, and some it adds that we ignore. */
function payload(overrides: Record<string, unknown> = {}) {
  return githubDeploymentProtectionRuleSchema.parse({
    action: 'requested',
    environment: 'production',
    event: 'workflow_dispatch',
    deployment_callback_url: `${API}/repos/acme/billing/actions/runs/4242/deployment_protection_rule`,
    deployment: {
      id: 77,
      ref: 'refs/heads/main',
      sha: 'a'.repeat(40),
      creator: { login: 'alice', id: 1, type: 'User' },
      task: 'deploy',
    },
    repository: { name: 'billing', full_name: 'acme/billing', private: true },
    installation: { id: 9, node_id: 'x' },
    sender: { login: 'alice-bot', id: 2 },
    pull_requests: [],
    ...overrides,
  });
}

describe('the deployment protection rule payload', () => {
  it('maps the creator, environment, repository, ref and run to a deploy input', () => {
    const event = payload();
    const target = reviewTargetOf(event, API);
    expect(target).toEqual({
      owner: 'acme',
      repo: 'billing',
      runId: 4242,
      environment: 'production',
      installationId: 9,
      callbackUrl: event.deployment_callback_url,
      deploymentId: 77,
      sha: 'a'.repeat(40),
    });
    expect(deploymentInput(event, target!)).toEqual({
      principal: { id: 'alice', attributes: { github: { login: 'alice' } } },
      action: 'deploy',
      resource: {
        kind: 'environment',
        id: 'production/billing',
        attributes: {
          environment: 'production',
          repository: 'acme/billing',
          ref: 'refs/heads/main',
          sha: 'a'.repeat(40),
          event: 'workflow_dispatch',
        },
      },
      context: {
        github: { runId: 4242, deploymentId: 77, installationId: 9, sender: 'alice-bot' },
      },
    });
  });

  it('takes the sender when the deployment names no creator', () => {
    const event = payload({
      deployment: { id: 1, ref: 'main', sha: 'b'.repeat(40), creator: null },
    });
    expect(actorOf(event)).toBe('alice-bot');
  });

  it('reviews only the documented endpoint of the payload repository under the API root', () => {
    const refused = [
      'https://evil.example/repos/acme/billing/actions/runs/1/deployment_protection_rule',
      `${API}.evil.example/repos/acme/billing/actions/runs/1/deployment_protection_rule`,
      `${API}/repos/acme/ledger/actions/runs/1/deployment_protection_rule`,
      `${API}/repos/acme/billing/actions/runs/1/approvals`,
      `${API}/repos/acme/billing/actions/runs/1/deployment_protection_rule?x=1`,
      `${API}/repos/acme/billing/../ledger/actions/runs/1/deployment_protection_rule`,
    ];
    for (const url of refused)
      expect(reviewTargetOf(payload({ deployment_callback_url: url }), API), url).toBeUndefined();
    // Owner and repository compare without case, as GitHub's do.
    const upper = `${API}/repos/ACME/Billing/actions/runs/1/deployment_protection_rule`;
    expect(reviewTargetOf(payload({ deployment_callback_url: upper }), API)?.runId).toBe(1);
  });

  it('refuses what it cannot decide on, naming the field', () => {
    const result = githubDeploymentProtectionRuleSchema.safeParse({ action: 'requested' });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'environment',
        'deployment_callback_url',
        'deployment',
        'repository',
        'installation',
        'sender',
      ]),
    );
  });
});
