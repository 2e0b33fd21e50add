/**
 * The control plane as an HCP Terraform run task, end to end: a real control plane (own
 * database and Redis prefix) with the example policies (policies/terraform, data.people) plus
 * two test workspaces, and a local server standing in for HCP Terraform's documented endpoints
 * (hcp-terraform-simulator.ts cites the pages):
 * https://developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration
 * https://developer.hashicorp.com/terraform/cloud-docs/api-docs/plans#retrieve-the-json-execution-plan
 *
 * Passed, failed with the reason, a run adding an IAM role waiting for a phishing-resistant
 * step-up until a security key elevation (WebAuthn, real ceremony with a software key),
 * approvals, a timeout, bad and missing signatures, a replay and malformed requests.
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { SoftAuthenticator } from '../../support/soft-authenticator.js';
import {
  cloneEmbedded,
  elevateWithTotp,
  personToken,
  pushPolicies,
} from '../control-plane/step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs, waitFor } from '../control-plane/support.js';
import {
  signedRunTask,
  startHcpTerraformSimulator,
  type Callback,
  type HcpTerraformSimulator,
  type SimulatedRun,
} from './hcp-terraform-simulator.js';

const HMAC_KEY = 'run-task-hmac-key-for-tests';
const PUBLIC_URL = 'https://stepgate.example.com';
const RP_ID = 'stepgate.test';
const ORIGIN = 'https://stepgate.test';
const STEP_UP_TIMEOUT_S = 25;
const RUN_TASK_PATH = '/v1/integrations/terraform/run-task';

/** Two test workspaces: one frozen by a deny rule, one that needs an approval. */
const TEST_POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: it-terraform',
  'description: Test workspaces of the run task suite.',
  'target:',
  '  actions: ["terraform:apply"]',
  '  resources: ["shared-*"]',
  'rules:',
  '  - name: frozen',
  '    effect: deny',
  '    when: resource.id == "shared-frozen"',
  '    message: shared-frozen is frozen during the audit.',
  '  - name: payments-approval',
  '    effect: step_up',
  '    when: resource.id == "shared-payments"',
  '    require: { approvals: 1 }',
  '    message: Payments changes need a second pair of eyes.',
  '',
].join('\n');

const temp = tempDirs();
let cp: ControlPlaneProcess;
let db: pg.Client;
let hcp: HcpTerraformSimulator;

async function send(payload: unknown, headers?: Record<string, string>) {
  const signed = signedRunTask(payload, HMAC_KEY);
  const response = await fetch(`${cp.url}${RUN_TASK_PATH}`, {
    method: 'POST',
    headers: headers ?? signed.headers,
    body: signed.body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Waits for the run's callback with a final status (passed or failed). */
async function finalResult(run: SimulatedRun, timeoutMs = 30_000): Promise<Callback> {
  let final: Callback | undefined;
  await waitFor(
    `the final result of ${run.runId}`,
    () => {
      final = hcp.callbacksOf(run).find((c) => c.body.data.attributes.status !== 'running');
      return final !== undefined;
    },
    timeoutMs,
  );
  return final as Callback;
}

async function firstRunning(run: SimulatedRun): Promise<Callback> {
  let running: Callback | undefined;
  await waitFor(`a running update for ${run.runId}`, () => {
    running = hcp.callbacksOf(run).find((c) => c.body.data.attributes.status === 'running');
    return running !== undefined;
  });
  return running as Callback;
}

const count = async (table: string) =>
  Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  hcp = await startHcpTerraformSimulator();
  cp = await startControlPlane({
    STEPGATE_TERRAFORM_HMAC_KEY: HMAC_KEY,
    STEPGATE_TERRAFORM_URL: hcp.apiUrl,
    STEPGATE_TERRAFORM_STEP_UP_TIMEOUT: `${STEP_UP_TIMEOUT_S}s`,
    STEPGATE_TERRAFORM_HEARTBEAT: '2s',
    STEPGATE_PIPELINE_GATE_POLL_INTERVAL: '500ms',
    STEPGATE_PUBLIC_URL: PUBLIC_URL,
    STEPGATE_WEBAUTHN_RP_ID: RP_ID,
    STEPGATE_WEBAUTHN_ORIGIN: ORIGIN,
  });
  db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  const work = temp.make('terraform-run-task');
  await cloneEmbedded(cp, work);
  await pushPolicies(cp, work, { 'it/terraform.yaml': TEST_POLICY }, 'Terraform test workspaces');
}, 360_000);

afterAll(async () => {
  await db?.end();
  await cp?.destroy();
  await hcp?.close();
  temp.cleanup();
});

describe('HCP Terraform run task', () => {
  it('passes an allowed run, with the plan fetched through the redirect and one outcome per rule', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [
        { type: 'aws_route', actions: ['update'] },
        { type: 'aws_iam_role', actions: ['create'] },
      ],
      notReadyTimes: 1,
    });
    const started = Date.now();
    const response = await send(run.payload);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({ status: 'accepted' });
    // Acknowledged before the plan was fetched: HCP Terraform wants a quick 200.
    expect(Date.now() - started).toBeLessThan(2000);

    const result = await finalResult(run);
    expect(result.authorization).toBe(`Bearer ${run.accessToken}`);
    expect(result.contentType).toBe('application/vnd.api+json');
    expect(result.body.data.attributes.status).toBe('passed');
    expect(result.body.data.attributes.message).toBe(
      'Stepgate allowed terraform:apply on staging-network for olga (terraform-access/operators-apply-and-destroy).',
    );
    expect(result.body.data.relationships?.outcomes.data).toEqual([
      expect.objectContaining({
        type: 'task-result-outcomes',
        attributes: expect.objectContaining({
          'outcome-id': 'terraform-access/operators-apply-and-destroy',
          tags: {
            Status: [{ label: 'Allowed', level: 'info' }],
            Policy: [{ label: 'terraform-access' }],
          },
        }),
      }),
    ]);
    // The body names what was decided: roles from data.people, the plan's resource types.
    const body = result.body.data.relationships?.outcomes.data[0]?.attributes.body ?? '';
    expect(body).toContain('roles: terraform-operator');
    expect(body).toContain('resource types changed: aws_iam_role, aws_route');

    // 204 (not finished) once, then the 307; the bearer token went to the API only.
    const fetches = hcp.planFetches.filter((f) => f.planId === run.planId);
    expect(fetches.map((f) => [f.status, f.authorization])).toEqual([
      [204, `Bearer ${run.accessToken}`],
      [307, `Bearer ${run.accessToken}`],
    ]);
    expect(hcp.archivistFetches.at(-1)).toEqual({ authorization: undefined, status: 200 });
    // The token is sealed at rest, never stored in clear. (The gate is closed just after the
    // result is reported.)
    await waitFor('the gate closed', async () => {
      const gate = await db.query(`SELECT status FROM pipeline_gate WHERE target->>'runId' = $1`, [
        run.runId,
      ]);
      return gate.rows[0]?.status === 'approved';
    });
    const stored = await db.query(
      `SELECT id, status, sealed_secrets, target::text FROM pipeline_gate WHERE target->>'runId' = $1`,
      [run.runId],
    );
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0].status).toBe('approved');
    expect(stored.rows[0].sealed_secrets).not.toContain(run.accessToken);
    expect(stored.rows[0].target).not.toContain(run.accessToken);
    // Audited: the gate opened for the workspace HCP Terraform signed for, then approved.
    const audit = await db.query(
      `SELECT actor, action FROM audit_event WHERE target = $1 ORDER BY at`,
      [`pipeline-gate:${stored.rows[0].id}`],
    );
    expect(audit.rows).toEqual([
      { actor: 'terraform:acme/staging-network', action: 'pipeline-gate.open' },
      { actor: 'system:pipeline-gates', action: 'pipeline-gate.approved' },
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(run.accessToken);
  });

  it('fails a denied run with the reason', async () => {
    const frozen = hcp.createRun({
      createdBy: 'olga',
      workspace: 'shared-frozen',
      changes: [{ type: 'aws_instance', actions: ['create'] }],
    });
    expect((await send(frozen.payload)).status).toBe(200);
    const result = await finalResult(frozen);
    expect(result.body.data.attributes).toMatchObject({
      status: 'failed',
      message:
        'Stepgate denied terraform:apply on shared-frozen for olga: shared-frozen is frozen during the audit.',
    });
    expect(result.body.data.relationships?.outcomes.data[0]?.attributes).toMatchObject({
      'outcome-id': 'it-terraform/frozen',
      tags: { Status: [{ label: 'Denied', level: 'error' }] },
    });

    // frank has no terraform-operator role in data.people: nothing allows him.
    const stranger = hcp.createRun({
      createdBy: 'frank',
      workspace: 'prod-network',
      changes: [{ type: 'aws_route', actions: ['update'] }],
    });
    expect((await send(stranger.payload)).status).toBe(200);
    const refused = await finalResult(stranger);
    expect(refused.body.data.attributes.status).toBe('failed');
    expect(refused.body.data.attributes.message).toMatch(
      /^Stepgate denied terraform:apply on prod-network for frank: /,
    );
  });

  it('keeps a run that adds an IAM role waiting for a phishing-resistant step-up, and passes it after a security key elevation', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'prod-data-platform',
      changes: [
        { type: 'aws_iam_role', actions: ['create'] },
        { type: 'aws_s3_bucket', actions: ['update'] },
        { type: 'aws_iam_policy_document', actions: ['read'], mode: 'data' },
      ],
    });
    expect((await send(run.payload)).status).toBe(200);
    const running = await firstRunning(run);
    const message = running.body.data.attributes.message ?? '';
    expect(message).toContain('Step-up needed for terraform:apply on prod-data-platform');
    expect(message).toContain('level phishing_resistant');
    expect(message).toContain(
      'olga must elevate to phishing_resistant: `npx stepgate elevate --action terraform:apply --resource prod-data-platform` with a security key',
    );
    expect(message).toContain(`${PUBLIC_URL}/console/elevation`);
    expect(
      running.body.data.relationships?.outcomes.data.map((o) => o.attributes['outcome-id']),
    ).toEqual(
      expect.arrayContaining([
        'terraform-production-apply/iam-changes-need-phishing-resistant-mfa',
        'terraform-production-apply/fresh-mfa',
      ]),
    );
    // Still running a while later, with the update repeated (HCP Terraform wants one every 10 min).
    await waitFor(
      'a repeated running update',
      () =>
        hcp.callbacksOf(run).filter((c) => c.body.data.attributes.status === 'running').length >= 2,
    );
    expect(hcp.callbacksOf(run).every((c) => c.body.data.attributes.status === 'running')).toBe(
      true,
    );

    // TOTP is mfa, not phishing-resistant: after olga elevates with it the run still waits,
    // now for the level only (the freshness is met).
    const token = await personToken(cp, 'olga');
    await elevateWithTotp(cp, token, {
      actions: ['terraform:apply'],
      resources: ['prod-data-platform'],
    });
    await waitFor('the gate to see the TOTP elevation', async () => {
      const gate = await db.query(
        `SELECT decision->'decision'->'unmet' AS unmet FROM pipeline_gate WHERE target->>'runId' = $1`,
        [run.runId],
      );
      return JSON.stringify(gate.rows[0]?.unmet) === '["level"]';
    });
    expect(hcp.callbacksOf(run).every((c) => c.body.data.attributes.status === 'running')).toBe(
      true,
    );

    // She registers a security key (a further factor: her TOTP elevation vouches for it) and
    // elevates with it for this workspace: amr hwk, phishing-resistant.
    const key = new SoftAuthenticator(RP_ID, ORIGIN);
    const registration = await api(
      cp.url,
      token,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      {},
    );
    expect(registration.status, JSON.stringify(registration.body)).toBe(200);
    const registered = await api(cp.url, token, 'POST', '/v1/elevation/webauthn/registration', {
      response: key.register(registration.body),
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const options = await api(
      cp.url,
      token,
      'POST',
      '/v1/elevation/webauthn/authentication/options',
      { actions: ['terraform:apply'], resources: ['prod-data-platform'] },
    );
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    const elevated = await api(cp.url, token, 'POST', '/v1/elevation/webauthn/authentication', {
      response: key.authenticate(options.body),
    });
    expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);

    const result = await finalResult(run);
    expect(result.body.data.attributes.status).toBe('passed');
    expect(result.body.data.attributes.message).toContain(
      'Stepgate allowed terraform:apply on prod-data-platform for olga',
    );
  });

  it('keeps a run waiting for an approval, names the request, and passes it once approved', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'shared-payments',
      changes: [{ type: 'aws_lambda_function', actions: ['update'] }],
    });
    expect((await send(run.payload)).status).toBe(200);
    const running = await firstRunning(run);
    const message = running.body.data.attributes.message ?? '';
    const approval = /npx stepgate approve ([0-9a-f-]{36})/.exec(message)?.[1];
    expect(approval, message).toBeDefined();
    expect(message).toContain('ask 1 approval from approvers');
    expect(message).toContain(`${PUBLIC_URL}/console/approvals`);
    expect(running.body.data.attributes.url).toBe(`${PUBLIC_URL}/console/approvals`);

    const bob = await personToken(cp, 'bob', ['approver']);
    const approved = await api(cp.url, bob, 'POST', `/v1/approvals/${approval}/approve`, {
      comment: 'change ticket CHG-42',
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const result = await finalResult(run);
    expect(result.body.data.attributes.status).toBe('passed');
  });

  it('fails a run whose step-up does not come in time', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'prod-iam-roles',
      changes: [{ type: 'aws_iam_role_policy', actions: ['update'] }],
    });
    expect((await send(run.payload)).status).toBe(200);
    await firstRunning(run);
    const result = await finalResult(run, (STEP_UP_TIMEOUT_S + 20) * 1000);
    expect(result.body.data.attributes.status).toBe('failed');
    expect(result.body.data.attributes.message).toMatch(
      /^Stepgate: the step-up \(level phishing_resistant, authenticated within 15m\) for terraform:apply on prod-iam-roles by olga was not satisfied by /,
    );
    // The gate is closed just after the result is reported, so the row may still say pending
    // when the callback arrives; it must come to expired, and be the only gate of the run.
    let rows: unknown[] = [];
    await waitFor('the gate closed as expired', async () => {
      const gate = await db.query(`SELECT status FROM pipeline_gate WHERE target->>'runId' = $1`, [
        run.runId,
      ]);
      rows = gate.rows;
      return gate.rows[0]?.status !== 'pending';
    });
    expect(rows).toEqual([{ status: 'expired' }]);
  }, 90_000);

  it('decides a speculative run as terraform:plan, which engineers may run', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'prod-data-platform',
      changes: [{ type: 'aws_iam_role', actions: ['create'] }],
      speculative: true,
    });
    expect((await send(run.payload)).status).toBe(200);
    const result = await finalResult(run);
    expect(result.body.data.attributes).toMatchObject({
      status: 'passed',
      message:
        'Stepgate allowed terraform:plan on prod-data-platform for olga (terraform-access/engineers-plan).',
    });
  });

  it('fails closed, with the reason, when there is no plan to decide on', async () => {
    const old = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [{ type: 'aws_route', actions: ['update'] }],
      unsupportedPlan: true,
    });
    expect((await send(old.payload)).status).toBe(200);
    const result = await finalResult(old);
    expect(result.body.data.attributes).toMatchObject({
      status: 'failed',
      message: 'Stepgate could not decide this run: the plan JSON endpoint answered 422',
    });
    const audit = await db.query(
      `SELECT actor, reason FROM audit_event WHERE action = 'terraform.run_task.error' AND target = $1`,
      [`terraform-run:${old.runId}`],
    );
    expect(audit.rows).toEqual([
      {
        actor: 'terraform:acme/staging-network',
        reason: 'the plan JSON endpoint answered 422',
      },
    ]);

    // Attached at pre-plan by mistake: nothing to decide on, so the run does not go on.
    const early = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [],
      stage: 'pre_plan',
    });
    expect((await send({ ...early.payload, plan_json_api_url: undefined })).status).toBe(200);
    const refused = await finalResult(early);
    expect(refused.body.data.attributes.status).toBe('failed');
    expect(refused.body.data.attributes.message).toContain(
      'attach this run task to the workspace at the post-plan stage',
    );
  });

  it('refuses a bad or missing signature with 401 and records nothing', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [{ type: 'aws_route', actions: ['update'] }],
    });
    const deliveries = await count('pipeline_delivery');
    const gates = await count('pipeline_gate');
    const audit = await count('audit_event');
    const forged = signedRunTask(run.payload, 'another-hmac-key-entirely');
    const wrong = await send(run.payload, forged.headers);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'webhook/bad_signature' });
    expect(wrong.body.message).toContain('X-TFC-Task-Signature');
    const { 'x-tfc-task-signature': _dropped, ...unsigned } = signedRunTask(
      run.payload,
      HMAC_KEY,
    ).headers;
    const missing = await send(run.payload, unsigned);
    expect(missing.status).toBe(401);
    // The right signature over another body does not pass either.
    const tampered = await send(
      { ...run.payload, run_created_by: 'mallory' },
      signedRunTask(run.payload, HMAC_KEY).headers,
    );
    expect(tampered.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await count('pipeline_delivery')).toBe(deliveries);
    expect(await count('pipeline_gate')).toBe(gates);
    expect(await count('audit_event')).toBe(audit);
    expect(hcp.planFetches.filter((f) => f.planId === run.planId)).toEqual([]);
    expect(hcp.callbacksOf(run)).toEqual([]);
  });

  it('refuses a replayed request: the run is decided and reported once', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [{ type: 'aws_route', actions: ['update'] }],
    });
    expect((await send(run.payload)).status).toBe(200);
    const replay = await send(run.payload);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: 'webhook/replayed' });
    expect(replay.body.message).toContain(run.runId);
    await finalResult(run);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(hcp.callbacksOf(run)).toHaveLength(1);
    const gates = await db.query(`SELECT id FROM pipeline_gate WHERE target->>'runId' = $1`, [
      run.runId,
    ]);
    expect(gates.rows).toHaveLength(1);
  });

  it('refuses malformed requests with 400 naming the field, and records nothing', async () => {
    const run = hcp.createRun({
      createdBy: 'olga',
      workspace: 'staging-network',
      changes: [{ type: 'aws_route', actions: ['update'] }],
    });
    const deliveries = await count('pipeline_delivery');
    const gates = await count('pipeline_gate');
    const audit = await count('audit_event');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...run.payload, run_created_by: undefined }, /run_created_by: /],
      [{ ...run.payload, payload_version: 2 }, /payload_version: /],
      [{ ...run.payload, stage: 'apply' }, /stage: /],
      [
        { ...run.payload, plan_json_api_url: null },
        /plan_json_api_url: is required at the post_plan stage/,
      ],
      [{ ...run.payload, workspace_name: 'prod/network' }, /workspace_name: /],
      [
        { ...run.payload, task_result_callback_url: 'https://evil.example/callback' },
        /task_result_callback_url: must be on http:\/\/127\.0\.0\.1:\d+ \(STEPGATE_TERRAFORM_URL\)/,
      ],
    ];
    for (const [payload, field] of cases) {
      const response = await send(payload);
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error).toBe('request/invalid');
      expect(response.body.message).toMatch(field);
      expect(JSON.stringify(response.body)).not.toMatch(/\n\s+at /);
    }
    const signedGarbage = '{"payload_version": 1,';
    const garbage = await fetch(`${cp.url}${RUN_TASK_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tfc-task-signature': createHmac('sha512', HMAC_KEY).update(signedGarbage).digest('hex'),
      },
      body: signedGarbage,
    });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { message: string }).message).toContain(
      'request body is not valid JSON',
    );

    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await count('pipeline_delivery')).toBe(deliveries);
    expect(await count('pipeline_gate')).toBe(gates);
    expect(await count('audit_event')).toBe(audit);
    expect(hcp.callbacksOf(run)).toEqual([]);
  });

  it("acknowledges HCP Terraform's verification request when the run task is created, and records nothing", async () => {
    const run = hcp.createRun({
      createdBy: 'test-user',
      workspace: 'test-workspace',
      changes: [],
    });
    const deliveries = await count('pipeline_delivery');
    const response = await send({
      ...run.payload,
      access_token: 'test-token',
      task_result_enforcement_level: 'test',
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'verified' });
    expect(await count('pipeline_delivery')).toBe(deliveries);
    expect(hcp.planFetches.filter((f) => f.planId === run.planId)).toEqual([]);
  });
});
