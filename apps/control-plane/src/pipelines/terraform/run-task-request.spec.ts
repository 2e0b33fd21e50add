import { StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { parseRunTaskRequest } from './run-task-request.js';

const TFC = 'https://app.terraform.io';
/** The sample payload of the run tasks integration API page. */
const SAMPLE = {
  payload_version: 1,
  stage: 'post_plan',
  access_token:
    '4QEuyyxug1f2rw.atlasv1.iDyxqhXGVZ0ykes53YdQyHyYtFOrdAWNBxcVUgWvzb64NFHjcquu8gJMEdUwoSLRu4Q',
  capabilities: { outcomes: true },
  configuration_version_download_url:
    'https://app.terraform.io/api/v2/configuration-versions/cv-ntv3HbhJqvFzamy7/download',
  configuration_version_id: 'cv-ntv3HbhJqvFzamy7',
  is_speculative: false,
  organization_name: 'hashicorp',
  plan_json_api_url: 'https://app.terraform.io/api/v2/plans/plan-6AFmRJW1PFJ7qbAh/json-output',
  run_app_url: 'https://app.terraform.io/app/hashicorp/my-workspace/runs/run-i3Df5to9ELvibKpQ',
  run_created_at: '2021-09-02T14:47:13.036Z',
  run_created_by: 'username',
  run_id: 'run-i3Df5to9ELvibKpQ',
  run_message: 'Triggered via UI',
  task_result_callback_url:
    'https://app.terraform.io/api/v2/task-results/5ea8d46c-2ceb-42cd-83f2-82e54697bddd/callback',
  task_result_enforcement_level: 'mandatory',
  task_result_id: 'taskrs-2nH5dncYoXaMVQmJ',
  vcs_branch: 'main',
  vcs_commit_url:
    'https://github.com/hashicorp/terraform-random/commit/7d8fb2a2d601edebdb7a59ad2088a96673637d22',
  vcs_pull_request_url: null,
  vcs_repo_url: 'https://github.com/hashicorp/terraform-random',
  workspace_app_url: 'https://app.terraform.io/app/hashicorp/my-workspace',
  workspace_id: 'ws-ck4G5bb1Yei5szRh',
  workspace_name: 'tfr_github_0',
  workspace_working_directory: '/terraform',
};
const parse = (body: unknown) => parseRunTaskRequest(Buffer.from(JSON.stringify(body)), TFC);
const refusal = (body: unknown) => {
  try {
    parse(body);
  } catch (error) {
    expect(error).toBeInstanceOf(StepgateError);
    return (error as StepgateError).message;
  }
  throw new Error('accepted');
};

describe('parseRunTaskRequest', () => {
  it('reads the documented sample payload, and ignores properties added later', () => {
    const parsed = parse({ ...SAMPLE, some_new_property: true });
    expect(parsed).toMatchObject({ kind: 'run', run: { run_created_by: 'username' } });
    expect(parsed.kind === 'run' && 'some_new_property' in parsed.run).toBe(false);
  });

  it("acknowledges HCP Terraform's verification request (enforcement level test)", () => {
    expect(parse({ ...SAMPLE, task_result_enforcement_level: 'test' })).toEqual({
      kind: 'verification',
    });
  });

  it('names the field that is wrong', () => {
    expect(refusal({ ...SAMPLE, payload_version: 2 })).toMatch(
      /^invalid run task request: payload_version: /,
    );
    expect(refusal({ ...SAMPLE, stage: 'apply' })).toMatch(/stage: /);
    expect(refusal({ ...SAMPLE, run_created_by: undefined })).toMatch(/run_created_by: /);
    expect(refusal({ ...SAMPLE, workspace_name: 'prod/network' })).toMatch(/workspace_name: /);
    expect(refusal({ ...SAMPLE, plan_json_api_url: null })).toMatch(
      /plan_json_api_url: is required at the post_plan stage/,
    );
    expect(refusal({ ...SAMPLE, task_result_callback_url: 'not a url' })).toMatch(
      /task_result_callback_url: /,
    );
    expect(() => parseRunTaskRequest(Buffer.from('{"payload'), TFC)).toThrow(/not JSON/);
  });

  it('refuses callback and plan URLs off the configured HCP Terraform', () => {
    expect(
      refusal({ ...SAMPLE, task_result_callback_url: 'https://evil.example/callback' }),
    ).toMatch(/task_result_callback_url: must be on https:\/\/app.terraform.io/);
    expect(refusal({ ...SAMPLE, plan_json_api_url: 'http://app.terraform.io/x' })).toMatch(
      /plan_json_api_url: must be on/,
    );
  });
});
