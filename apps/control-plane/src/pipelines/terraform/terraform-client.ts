import type { TerraformTaskResult } from '@stepgate/protocol';

/**
 * The two HCP Terraform calls a run task makes, with the run's `access_token`:
 *
 * - the plan JSON (`GET plan_json_api_url`, "Retrieve the JSON execution plan" in the plans
 *   API): 204 while the plan is not finished, else a 307 to a temporary URL (archivist, valid
 *   one minute) that is itself the credential. The redirect is followed by hand so the bearer
 *   token never goes to the other host.
 * - the result (`PATCH task_result_callback_url`, `Content-Type: application/vnd.api+json`).
 */
export class TerraformApiError extends Error {}

export interface TerraformClientOptions {
  /** Per-request time limit (ms). */
  timeoutMs?: number;
  /** How many 204s (plan not finished yet) to wait out, and how long between them. */
  notReadyRetries?: number;
  notReadyDelayMs?: number;
  /** Plan JSON larger than this is refused (bytes). */
  maxPlanBytes?: number;
}

const DEFAULTS: Required<TerraformClientOptions> = {
  timeoutMs: 30_000,
  notReadyRetries: 10,
  notReadyDelayMs: 2000,
  maxPlanBytes: 64 * 1024 * 1024,
};

export class TerraformClient {
  private readonly options: Required<TerraformClientOptions>;

  constructor(options: TerraformClientOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  async planJson(planJsonUrl: string, accessToken: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const response = await reach('the plan JSON endpoint', planJsonUrl, {
        method: 'GET',
        redirect: 'manual',
        headers: {
          authorization: `Bearer ${accessToken}`,
          'content-type': 'application/vnd.api+json',
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (response.status === 204 && attempt < this.options.notReadyRetries) {
        await new Promise((resolve) => setTimeout(resolve, this.options.notReadyDelayMs));
        continue;
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        if (!location)
          throw new TerraformApiError(
            `the plan JSON endpoint answered ${response.status} without a Location`,
          );
        const target = new URL(location, planJsonUrl);
        // The temporary URL carries its own authorization; an http:// one is only followed
        // when the API itself is plain HTTP (a local Terraform Enterprise or a test).
        if (target.protocol !== 'https:' && target.protocol !== new URL(planJsonUrl).protocol)
          throw new TerraformApiError(
            `the plan JSON redirect goes to ${target.protocol} URL; refused`,
          );
        return this.readJson(
          await reach('the temporary plan JSON URL', target, {
            redirect: 'error',
            signal: AbortSignal.timeout(this.options.timeoutMs),
          }),
          'the temporary plan JSON URL',
        );
      }
      if (response.status === 200) return this.readJson(response, 'the plan JSON endpoint');
      throw new TerraformApiError(
        response.status === 204
          ? 'the plan JSON is still not available (204: the plan has not finished)'
          : `the plan JSON endpoint answered ${response.status}`,
      );
    }
  }

  /** PATCHes the result; throws when HCP Terraform does not accept it (e.g. 401, 422). */
  async sendResult(
    callbackUrl: string,
    accessToken: string,
    body: TerraformTaskResult,
  ): Promise<void> {
    const response = await fetch(callbackUrl, {
      method: 'PATCH',
      redirect: 'error',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/vnd.api+json',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status < 200 || response.status >= 300) {
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      throw new TerraformApiError(
        `the task result callback answered ${response.status}${detail ? `: ${detail}` : ''}`,
      );
    }
    await response.body?.cancel().catch(() => undefined);
  }

  private async readJson(response: Response, what: string): Promise<unknown> {
    if (response.status !== 200) throw new TerraformApiError(`${what} answered ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > this.options.maxPlanBytes)
      throw new TerraformApiError(
        `the plan JSON is ${length} bytes, over the limit of ${this.options.maxPlanBytes}`,
      );
    const text = await response.text();
    if (text.length > this.options.maxPlanBytes)
      throw new TerraformApiError(
        `the plan JSON is over the limit of ${this.options.maxPlanBytes} bytes`,
      );
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TerraformApiError(`${what} did not return JSON`);
    }
  }
}

/** fetch, with a network failure (refused, reset, timed out) as a TerraformApiError. */
async function reach(what: string, url: string | URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new TerraformApiError(
      `${what} could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    );
  }
}
