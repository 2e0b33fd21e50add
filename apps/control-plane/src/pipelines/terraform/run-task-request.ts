import {
  StepgateError,
  terraformRunTaskRequestSchema,
  type TerraformRunTaskRequest,
} from '@stepgate/protocol';

/** What a signed request body turned out to be. */
export type ParsedRunTask =
  { kind: 'verification' } | { kind: 'run'; run: TerraformRunTaskRequest };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a run task request whose signature was verified. HCP Terraform checks a new run
 * task's URL with a request whose `task_result_enforcement_level` is `test` (and whose token
 * calls nothing back): that is acknowledged and nothing else. Anything else must be a run
 * task request as documented; a malformed one is a 400 naming the field, and the callback and
 * plan URLs must be on the configured HCP Terraform (`terraformUrl`, an origin), so a request
 * can never make Stepgate send the run's token elsewhere.
 */
export function parseRunTaskRequest(rawBody: Buffer, terraformUrl: string): ParsedRunTask {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new StepgateError('request/invalid', 'invalid run task request: the body is not JSON');
  }
  if (isRecord(body) && body.task_result_enforcement_level === 'test')
    return { kind: 'verification' };
  const parsed = terraformRunTaskRequestSchema.safeParse(body);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    }));
    const first = details[0];
    throw new StepgateError(
      'request/invalid',
      `invalid run task request: ${first?.path ? `${first.path}: ` : ''}${first?.message ?? 'bad shape'}`,
      details,
    );
  }
  const run = parsed.data;
  for (const [field, value] of [
    ['task_result_callback_url', run.task_result_callback_url],
    ['plan_json_api_url', run.plan_json_api_url],
  ] as const) {
    if (value && new URL(value).origin !== terraformUrl)
      throw new StepgateError(
        'request/invalid',
        `invalid run task request: ${field}: must be on ${terraformUrl} (STEPGATE_TERRAFORM_URL), got ${new URL(value).origin}`,
        [{ path: field, message: `must be on ${terraformUrl}` }],
      );
  }
  return { kind: 'run', run };
}
