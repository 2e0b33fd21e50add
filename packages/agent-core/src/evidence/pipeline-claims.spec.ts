import { beforeAll, describe, expect, it } from 'vitest';
import { testIssuer, type TestIssuer } from '../__support__/issuer.js';
import { policySet, SETTINGS, signer } from '../__support__/fakes.js';
import { BundleStore } from '../bundle-store.js';
import { DecisionPoint } from '../decision-point.js';
import { TrustStore } from '../trust-store.js';
import { pipelineAttributes } from '@stepgate/policy';
import { TokenVerifier } from './token-verifier.js';

/**
 * The claims of a GitHub Actions job's OIDC token, as GitHub documents them ("About security
 * hardening with OpenID Connect", example subject and claims), for a job in environment prod.
 */
const GITHUB_JOB = {
  sub: 'repo:octo-org/octo-repo:environment:prod',
  environment: 'prod',
  ref: 'refs/heads/main',
  sha: 'example-sha',
  repository: 'octo-org/octo-repo',
  repository_owner: 'octo-org',
  actor_id: '12',
  repository_visibility: 'private',
  repository_id: '74',
  repository_owner_id: '65',
  run_id: 'example-run-id',
  run_number: '10',
  run_attempt: '2',
  runner_environment: 'github-hosted',
  actor: 'octocat',
  workflow: 'example-workflow',
  head_ref: '',
  base_ref: '',
  event_name: 'workflow_dispatch',
  ref_type: 'branch',
  job_workflow_ref: 'octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main',
};

/** A GitLab CI job's ID token claims, as GitLab documents them ("ID token payload"). */
const GITLAB_JOB = {
  sub: 'project_path:octo-org/octo-repo:ref_type:branch:ref:main',
  namespace_id: '72',
  namespace_path: 'octo-org',
  project_id: '20',
  project_path: 'octo-org/octo-repo',
  user_id: '5',
  user_login: 'octocat',
  user_email: 'octocat@example.com',
  pipeline_id: 574,
  pipeline_source: 'push',
  job_id: '302',
  ref: 'main',
  ref_type: 'branch',
  ref_path: 'refs/heads/main',
  ref_protected: 'true',
  environment: 'prod',
  environment_protected: 'true',
  runner_id: 1,
  runner_environment: 'self-hosted',
  sha: 'example-sha',
  ci_config_ref_uri: 'gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main',
};

/** The attributes both tokens must give the principal, whichever CI system signed them. */
const SAME_FOR_BOTH = {
  repository: 'octo-org/octo-repo',
  owner: 'octo-org',
  environment: 'prod',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  sha: 'example-sha',
  actor: 'octocat',
};

const DEPLOY_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: deploys
target: { actions: ["deploy"] }
rules:
  - name: prod-from-main-of-octo-repo
    effect: allow
    when: >-
      principal.attributes.repository == "octo-org/octo-repo"
      && principal.attributes.environment == "prod"
      && principal.attributes.ref == "refs/heads/main"
`;

let github: TestIssuer;
let gitlab: TestIssuer;
let verifier: TokenVerifier;
let point: DecisionPoint;

beforeAll(async () => {
  github = await testIssuer('https://token.actions.githubusercontent.com');
  gitlab = await testIssuer('https://gitlab.example.com');
  const key = await signer();
  const store = new BundleStore({ trust: TrustStore.fromJwks(key.jwks) });
  const settings = `${SETTINGS}issuers:
  - issuer: ${github.issuer}
    audience: stepgate
    jwks: ${JSON.stringify(github.jwks)}
    claims: { shape: github-actions }
  - issuer: ${gitlab.issuer}
    audience: stepgate
    jwks: ${JSON.stringify(gitlab.jwks)}
    claims: { shape: gitlab-ci, attributes: [project_id] }
`;
  const set = policySet({ 'stepgate.yaml': settings, 'deploys.yaml': DEPLOY_POLICY });
  expect((await store.offer('active', await key.sign(set, 1))).applied).toBe(true);
  verifier = new TokenVerifier({ store });
  point = new DecisionPoint({ store });
});

describe('CI pipeline tokens as principals', () => {
  it('gives a GitHub Actions job its sub as id and the pipeline attributes', async () => {
    const { principal } = await verifier.verify(await github.token(GITHUB_JOB));
    expect(principal).toEqual({
      id: 'repo:octo-org/octo-repo:environment:prod',
      attributes: {
        platform: 'github-actions',
        ...SAME_FOR_BOTH,
        event: 'workflow_dispatch',
        workflow_ref: 'octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main',
        run_id: 'example-run-id',
      },
    });
  });

  it('gives a GitLab CI job the same attribute names (project_path is the repository, user_login the actor), plus configured claims', async () => {
    const { principal } = await verifier.verify(await gitlab.token(GITLAB_JOB));
    expect(principal).toEqual({
      id: 'project_path:octo-org/octo-repo:ref_type:branch:ref:main',
      attributes: {
        platform: 'gitlab-ci',
        ...SAME_FOR_BOTH,
        ref_protected: true,
        event: 'push',
        workflow_ref: 'gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main',
        run_id: '574',
        project_id: '20',
      },
    });
  });

  it('lets one policy decide on both: prod deploys from main of the repository only', async () => {
    const decide = async (issuer: TestIssuer, claims: Record<string, unknown>) => {
      const { principal, evidence } = await verifier.verify(await issuer.token(claims));
      return point.decide(
        { principal, action: 'deploy', resource: { kind: 'env', id: 'prod' } },
        evidence,
      ).effect;
    };
    expect(await decide(github, GITHUB_JOB)).toBe('allow');
    expect(await decide(gitlab, GITLAB_JOB)).toBe('allow');
    expect(await decide(github, { ...GITHUB_JOB, ref: 'refs/heads/feature' })).toBe('deny');
    expect(
      await decide(gitlab, { ...GITLAB_JOB, ref: 'feature', ref_path: 'refs/heads/feature' }),
    ).toBe('deny');
    expect(await decide(github, { ...GITHUB_JOB, repository: 'octo-org/fork' })).toBe('deny');
    const { environment: _none, ...noEnvironment } = GITLAB_JOB;
    expect(await decide(gitlab, noEnvironment)).toBe('deny');
  });
});

describe('pipelineAttributes', () => {
  it("rebuilds GitLab's full ref from ref_type and ref when ref_path is missing", () => {
    const { ref_path: _full, ...older } = GITLAB_JOB;
    expect(pipelineAttributes('gitlab-ci', older).ref).toBe('refs/heads/main');
    expect(pipelineAttributes('gitlab-ci', { ...older, ref: 'v1.2', ref_type: 'tag' }).ref).toBe(
      'refs/tags/v1.2',
    );
    expect(pipelineAttributes('gitlab-ci', { ...older, ref_type: 'other' }).ref).toBeUndefined();
  });

  it('takes only non-empty strings (and finite numbers as strings) from the token', () => {
    expect(
      pipelineAttributes('github-actions', {
        repository: ['octo-org/octo-repo'],
        environment: '',
        actor: { login: 'octocat' },
        run_id: 42,
        ref_protected: 'false',
      }),
    ).toEqual({ platform: 'github-actions', run_id: '42', ref_protected: false });
  });
});
