/**
 * A local stand-in for the HCP Terraform endpoints a run task integration calls, and the
 * requests HCP Terraform sends it, shaped as HashiCorp documents them:
 *
 * - Run task request (POST to the run task URL, body and `X-TFC-Task-Signature` header: the
 *   hex HMAC-SHA512 of the body with the run task's HMAC key) and the callback
 *   (`PATCH task_result_callback_url`, `Content-Type: application/vnd.api+json`, bearer
 *   `access_token`, body `data.type: task-results` with status `running|passed|failed`,
 *   message, url and `relationships.outcomes.data[]` of `task-result-outcomes`):
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration
 * - The plan JSON (`GET /api/v2/plans/:id/json-output` with the bearer token: 204 while the
 *   plan is not finished, else 307 to a temporary archivist URL that lives one minute and
 *   carries its own authorization):
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/plans#retrieve-the-json-execution-plan
 * - The plan JSON document itself (`format_version`, `resource_changes[]` with `mode`, `type`,
 *   `change.actions`): https://developer.hashicorp.com/terraform/internals/json-format
 *
 * Two servers, as in HCP Terraform: the API (app.terraform.io) and the archivist
 * (archivist.terraform.io), so the redirect is cross-origin. Everything received is recorded.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { terraformTaskResultSchema, type TerraformTaskResult } from '@stepgate/protocol';

export interface ResourceChange {
  type: string;
  actions: string[];
  mode?: 'managed' | 'data';
}

export interface SimulatedRun {
  runId: string;
  taskResultId: string;
  accessToken: string;
  planId: string;
  /** The documented run task request body for this run. */
  payload: Record<string, unknown>;
}

export interface Callback {
  taskResultId: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: TerraformTaskResult;
}

export interface PlanFetch {
  planId: string;
  /** The API request's Authorization header. */
  authorization: string | undefined;
  status: number;
}

export interface ArchivistFetch {
  /** The archivist request's Authorization header: must be absent (the URL is the credential). */
  authorization: string | undefined;
  status: number;
}

export interface HcpTerraformSimulator {
  apiUrl: string;
  archivistUrl: string;
  callbacks: Callback[];
  planFetches: PlanFetch[];
  archivistFetches: ArchivistFetch[];
  /** Every request the API got that it refused (wrong token, bad body...). */
  refused: string[];
  /** A run whose post-plan run task is due: `changes` become the plan's resource_changes. */
  createRun(options: {
    createdBy: string;
    workspace: string;
    organization?: string;
    changes: ResourceChange[];
    stage?: string;
    speculative?: boolean;
    /** The plan JSON answers 204 (not finished) this many times first. */
    notReadyTimes?: number;
    /** The plan was made by Terraform < 0.12: the plan JSON endpoint answers 422 (documented). */
    unsupportedPlan?: boolean;
  }): SimulatedRun;
  callbacksOf(run: SimulatedRun): Callback[];
  close(): Promise<void>;
}

/** The run task request as HCP Terraform sends it: body and signature headers. */
export function signedRunTask(
  payload: unknown,
  hmacKey: string,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'TFC/1.0 (+https://app.terraform.io; TFC)',
      'x-tfc-task-signature': createHmac('sha512', hmacKey).update(body).digest('hex'),
    },
  };
}

const id = (prefix: string) =>
  `${prefix}-${randomBytes(8).toString('base64url').replace(/[-_]/g, 'x')}`;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: Error) => {
      res.writeHead(500).end(error.message);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

export async function startHcpTerraformSimulator(): Promise<HcpTerraformSimulator> {
  const plans = new Map<
    string,
    { token: string; json: unknown; notReady: number; unsupported: boolean }
  >();
  const taskResults = new Map<string, { token: string }>();
  /** Temporary archivist objects: key -> plan JSON and expiry (one minute, as documented). */
  const objects = new Map<string, { json: unknown; expires: number }>();
  const callbacks: Callback[] = [];
  const planFetches: PlanFetch[] = [];
  const archivistFetches: ArchivistFetch[] = [];
  const refused: string[] = [];

  const archivist = await listen(async (req, res) => {
    const key = /^\/v1\/object\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    const object = key ? objects.get(key) : undefined;
    const status = req.method === 'GET' && object && object.expires > Date.now() ? 200 : 404;
    archivistFetches.push({ authorization: req.headers.authorization, status });
    if (status !== 200) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(object?.json));
  });
  const archivistUrl = urlOf(archivist);

  const api = await listen(async (req, res) => {
    const url = req.url ?? '';
    const plan = /^\/api\/v2\/plans\/([A-Za-z0-9-]+)\/json-output$/.exec(url);
    if (req.method === 'GET' && plan) {
      const entry = plans.get(plan[1] as string);
      const authorized = entry && req.headers.authorization === `Bearer ${entry.token}`;
      let status = 401;
      if (authorized && entry.notReady > 0) {
        entry.notReady--;
        status = 204;
      } else if (authorized && entry.unsupported) status = 422;
      else if (authorized) status = 307;
      planFetches.push({
        planId: plan[1] as string,
        authorization: req.headers.authorization,
        status,
      });
      if (status === 401) {
        refused.push(`GET ${url}: bad token`);
        return res
          .writeHead(401, { 'content-type': 'application/vnd.api+json' })
          .end(JSON.stringify({ errors: [{ status: '401', title: 'unauthorized' }] }));
      }
      if (status === 204) return res.writeHead(204).end();
      if (status === 422)
        return res
          .writeHead(422, { 'content-type': 'application/vnd.api+json' })
          .end(
            JSON.stringify({ errors: [{ status: '422', title: 'unsupported Terraform version' }] }),
          );
      const key = randomBytes(24).toString('base64url');
      objects.set(key, { json: entry?.json, expires: Date.now() + 60_000 });
      return res.writeHead(307, { location: `${archivistUrl}/v1/object/${key}` }).end();
    }
    const callback = /^\/api\/v2\/task-results\/([A-Za-z0-9-]+)\/callback$/.exec(url);
    if (req.method === 'PATCH' && callback) {
      const taskResultId = callback[1] as string;
      const entry = taskResults.get(taskResultId);
      const text = await readBody(req);
      if (!entry || req.headers.authorization !== `Bearer ${entry.token}`) {
        refused.push(`PATCH ${url}: bad token`);
        return res.writeHead(401).end();
      }
      let parsed;
      try {
        parsed = terraformTaskResultSchema.safeParse(JSON.parse(text));
      } catch {
        parsed = undefined;
      }
      if (
        !parsed?.success ||
        !req.headers['content-type']?.startsWith('application/vnd.api+json')
      ) {
        refused.push(`PATCH ${url}: invalid payload ${text.slice(0, 200)}`);
        return res
          .writeHead(422, { 'content-type': 'application/vnd.api+json' })
          .end(JSON.stringify({ errors: [{ status: '422', title: 'invalid attribute' }] }));
      }
      callbacks.push({
        taskResultId,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: parsed.data,
      });
      return res.writeHead(200).end();
    }
    refused.push(`${req.method} ${url}: no such endpoint`);
    res.writeHead(404).end();
  });
  const apiUrl = urlOf(api);

  return {
    apiUrl,
    archivistUrl,
    callbacks,
    planFetches,
    archivistFetches,
    refused,
    createRun(options) {
      const runId = id('run');
      const taskResultId = id('taskrs');
      const planId = id('plan');
      const accessToken = `${randomBytes(10).toString('hex')}.atlasv1.${randomBytes(40).toString('base64url')}`;
      const organization = options.organization ?? 'acme';
      plans.set(planId, {
        token: accessToken,
        notReady: options.notReadyTimes ?? 0,
        unsupported: options.unsupportedPlan ?? false,
        json: {
          format_version: '1.2',
          terraform_version: '1.9.5',
          resource_changes: options.changes.map((change, index) => ({
            address: `${change.mode === 'data' ? 'data.' : ''}${change.type}.r${index}`,
            mode: change.mode ?? 'managed',
            type: change.type,
            name: `r${index}`,
            provider_name: 'registry.terraform.io/hashicorp/aws',
            change: { actions: change.actions, before: null, after: {} },
          })),
          applyable: true,
          complete: true,
          errored: false,
        },
      });
      taskResults.set(taskResultId, { token: accessToken });
      const payload = {
        payload_version: 1,
        stage: options.stage ?? 'post_plan',
        access_token: accessToken,
        capabilities: { outcomes: true },
        configuration_version_download_url: `${apiUrl}/api/v2/configuration-versions/cv-ntv3HbhJqvFzamy7/download`,
        configuration_version_id: 'cv-ntv3HbhJqvFzamy7',
        is_speculative: options.speculative ?? false,
        organization_name: organization,
        plan_json_api_url: `${apiUrl}/api/v2/plans/${planId}/json-output`,
        run_app_url: `${apiUrl}/app/${organization}/${options.workspace}/runs/${runId}`,
        run_created_at: new Date().toISOString(),
        run_created_by: options.createdBy,
        run_id: runId,
        run_message: 'Triggered via UI',
        task_result_callback_url: `${apiUrl}/api/v2/task-results/${taskResultId}/callback`,
        task_result_enforcement_level: 'mandatory',
        task_result_id: taskResultId,
        vcs_branch: 'main',
        vcs_commit_url: null,
        vcs_pull_request_url: null,
        vcs_repo_url: null,
        workspace_app_url: `${apiUrl}/app/${organization}/${options.workspace}`,
        workspace_id: id('ws'),
        workspace_name: options.workspace,
        workspace_working_directory: '',
      };
      return { runId, taskResultId, accessToken, planId, payload };
    },
    callbacksOf(run) {
      return callbacks.filter((callback) => callback.taskResultId === run.taskResultId);
    },
    async close() {
      await Promise.all(
        [api, archivist].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
