import type { TerraformRunTaskRequest } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { runTaskDecisionRequest } from './run-task-input.js';

const run = {
  payload_version: 1,
  stage: 'post_plan',
  access_token: 'secret',
  is_speculative: false,
  task_result_id: 'taskrs-1',
  task_result_callback_url: 'https://app.terraform.io/api/v2/task-results/x/callback',
  run_id: 'run-1',
  run_created_by: 'olga',
  workspace_name: 'prod-data-platform',
  organization_name: 'acme',
  plan_json_api_url: 'https://app.terraform.io/api/v2/plans/plan-1/json-output',
  vcs_branch: 'main',
} as TerraformRunTaskRequest;
const changes = {
  changes: ['aws_iam_role', 'aws_s3_bucket'],
  creates: ['aws_iam_role'],
  updates: ['aws_s3_bucket'],
  deletes: [],
};
const data = {
  people: { olga: { roles: ['terraform-operator'], groups: ['engineering'] }, bob: 'oops' },
};

describe('run task decision input', () => {
  it('takes roles and groups from data.people only: none for someone it does not list', () => {
    const request = runTaskDecisionRequest({ ...run, run_created_by: 'mallory' }, changes, data);
    expect(request.principal).toEqual({ id: 'mallory', roles: [], groups: [] });
    const oops = runTaskDecisionRequest({ ...run, run_created_by: 'bob' }, changes, data);
    expect(oops.principal).toEqual({ id: 'bob', roles: [], groups: [] });
  });

  it('maps the run to terraform:apply on the workspace with the changed resource types', () => {
    expect(runTaskDecisionRequest(run, changes, data)).toEqual({
      principal: { id: 'olga', roles: ['terraform-operator'], groups: ['engineering'] },
      action: 'terraform:apply',
      resource: {
        kind: 'terraform:workspace',
        id: 'prod-data-platform',
        attributes: {
          organization: 'acme',
          workspace: 'prod-data-platform',
          changes: ['aws_iam_role', 'aws_s3_bucket'],
          creates: ['aws_iam_role'],
          updates: ['aws_s3_bucket'],
          deletes: [],
        },
      },
      context: { pipeline: 'terraform', runId: 'run-1', stage: 'post_plan', vcsBranch: 'main' },
    });
  });

  it('maps a speculative run, which can never apply, to terraform:plan', () => {
    expect(runTaskDecisionRequest({ ...run, is_speculative: true }, changes, data).action).toBe(
      'terraform:plan',
    );
  });
});
