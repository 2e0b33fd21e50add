import type { CheckRequest, GitHubDeploymentProtectionRule } from '@stepgate/protocol';

export type DeploymentProtectionRule = GitHubDeploymentProtectionRule;

/** Where the review goes: owner, repo and run id read from the payload's callback URL. */
export interface ReviewTarget {
  owner: string;
  repo: string;
  runId: number;
  environment: string;
  installationId: number;
  callbackUrl: string;
  deploymentId: number;
  /** The commit deployed, for the comments. */
  sha: string;
}

/**
 * The run to review, from `deployment_callback_url`: it must be the documented review
 * endpoint of the payload's repository under the configured API root, because the
 * installation's token is sent there. Undefined when it is not.
 */
export function reviewTargetOf(
  payload: DeploymentProtectionRule,
  apiUrl: string,
): ReviewTarget | undefined {
  const prefix = `${apiUrl}/repos/`;
  const url = payload.deployment_callback_url;
  if (!url.startsWith(prefix)) return undefined;
  const match = /^([^/]+)\/([^/]+)\/actions\/runs\/(\d{1,20})\/deployment_protection_rule$/.exec(
    url.slice(prefix.length),
  );
  if (!match) return undefined;
  const [, owner, repo, runId] = match as unknown as [string, string, string, string];
  if (`${owner}/${repo}`.toLowerCase() !== payload.repository.full_name.toLowerCase())
    return undefined;
  return {
    owner,
    repo,
    runId: Number(runId),
    environment: payload.environment,
    installationId: payload.installation.id,
    callbackUrl: url,
    deploymentId: payload.deployment.id,
    sha: payload.deployment.sha,
  };
}

/** Who triggered the deployment: the deployment's creator, else the webhook's sender. */
export function actorOf(payload: DeploymentProtectionRule): string {
  return payload.deployment.creator?.login ?? payload.sender.login;
}

/**
 * The decision input (README, "a GitHub deployment waits on Stepgate"): the actor's login is
 * the principal (roles come from the policies' data, e.g. data.people, never from GitHub),
 * `deploy` on `environment` `<environment>/<repository name>`, with the repository, ref, commit
 * and triggering event as attributes, and the run in `context.github`.
 */
export function deploymentInput(
  payload: DeploymentProtectionRule,
  target: ReviewTarget,
): CheckRequest {
  const actor = actorOf(payload);
  return {
    principal: { id: actor, attributes: { github: { login: actor } } },
    action: 'deploy',
    resource: {
      kind: 'environment',
      id: `${payload.environment}/${payload.repository.name}`,
      attributes: {
        environment: payload.environment,
        repository: payload.repository.full_name,
        ref: payload.deployment.ref,
        sha: payload.deployment.sha,
        event: payload.event,
      },
    },
    context: {
      github: {
        runId: target.runId,
        deploymentId: payload.deployment.id,
        installationId: payload.installation.id,
        sender: payload.sender.login,
      },
    },
  };
}
