/**
 * The control plane as a GitHub App's custom deployment protection rule, end to end: a real
 * control plane (own database and Redis prefix), real @octokit clients and signature checks,
 * and a local server standing in for GitHub's documented endpoints (github-simulator.ts cites
 * the pages):
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment_protection_rule
 * https://docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run
 *
 * The policies are the example repository's (policies/cicd, data.people), with the weekend
 * freeze taken out so the suite passes on any day, plus two test environments: `canary`
 * (MFA only) and `qa` (one approval only).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  cloneEmbedded,
  enrolTotp,
  pushPolicies,
  totpCode,
  type TotpDevice,
} from '../control-plane/step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs, waitFor } from '../control-plane/support.js';
import {
  deploymentProtectionRulePayload,
  signedDelivery,
  startGitHubSimulator,
  type GitHubSimulator,
  type Repository,
  type Review,
} from './github-simulator.js';

const BILLING: Repository = { owner: 'acme', name: 'billing', id: 501, installationId: 71 };
const LEDGER: Repository = { owner: 'acme', name: 'ledger', id: 502, installationId: 71 };
/** In another organisation's installation. */
const PAYMENTS: Repository = { owner: 'fintech', name: 'payments', id: 601, installationId: 72 };
const PUBLIC_URL = 'https://stepgate.example.com';
const STEPGATE_CLI = join(import.meta.dirname, '../../../apps/cli/bin/stepgate.js');

const TEST_POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: it-github',
  'description: Test environments of the GitHub suite.',
  'target:',
  '  actions: ["deploy"]',
  '  resources: ["canary/**", "qa/**"]',
  'rules:',
  '  - name: canary-mfa',
  '    effect: step_up',
  '    when: resource.id.globMatch("canary/**")',
  '    require: { level: mfa, maxAge: 15m }',
  '    message: Canary deploys need MFA within 15 minutes.',
  '  - name: qa-approval',
  '    effect: step_up',
  '    when: resource.id.globMatch("qa/**")',
  '    require: { approvals: 1 }',
  '  - name: deployers',
  '    effect: allow',
  '    when: \'principal.id in data.people && "deployer" in data.people[principal.id].roles\'',
  '',
].join('\n');

/** The example production policy without its weekend freeze (the suite runs any day). */
function productionPolicyAnyDay(): string {
  const text = readFileSync(join(REPO_ROOT, 'policies/cicd/production-deploys.yaml'), 'utf8');
  const without = text.replace(/ {2}- name: weekend-freeze\n[\s\S]*?(?= {2}- name: )/, '');
  if (without === text) throw new Error('the weekend-freeze rule was not found to take out');
  return without;
}

const temp = tempDirs();
let cp: ControlPlaneProcess;
let github: GitHubSimulator;
let db: pg.Client;
const tokens: Record<string, string> = {};
let nextRun = 9000;
/** Alice's authenticator app (her TOTP factor, enrolled once). */
let aliceDevice: TotpDevice;

/** Alice elevates with a code from her authenticator, for `deploy` on `resources`. */
async function aliceElevates(resources: string[]): Promise<void> {
  const elevated = await api(cp.url, tokens.alice, 'POST', '/v1/elevation/totp', {
    code: await totpCode(aliceDevice),
    actions: ['deploy'],
    resources,
  });
  expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
}

async function token(name: string, scopes: string[], subject: string): Promise<string> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name,
    scopes,
    subject,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.token as string;
}

async function deliver(delivery: {
  headers: Record<string, string>;
  body: string;
}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${cp.url}/v1/integrations/github/webhook`, {
    method: 'POST',
    headers: delivery.headers,
    body: delivery.body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** GitHub reaches a job that deploys `repository` to `environment`, triggered by `creator`. */
async function deploy(options: {
  repository?: Repository;
  environment: string;
  creator: string;
}): Promise<{ runId: number; status: number; body: Record<string, unknown> }> {
  const runId = nextRun++;
  const payload = deploymentProtectionRulePayload(github, {
    repository: options.repository ?? BILLING,
    environment: options.environment,
    creator: options.creator,
    runId,
  });
  const response = await deliver(signedDelivery(JSON.stringify(payload), github.webhookSecret));
  return { runId, ...response };
}

const reviewsOf = (runId: number): Review[] => github.reviews.filter((r) => r.runId === runId);
const finalReview = (runId: number) => reviewsOf(runId).find((r) => r.state !== undefined);

async function untilReviewed(runId: number, timeoutMs = 20_000): Promise<Review> {
  await waitFor(
    `the final review of run ${runId}`,
    () => finalReview(runId) !== undefined,
    timeoutMs,
  );
  return finalReview(runId)!;
}

async function counts(): Promise<{ gates: number; deliveries: number; audit: number }> {
  const { rows } = await db.query<{ gates: string; deliveries: string; audit: string }>(
    `SELECT (SELECT count(*) FROM pipeline_gate) AS gates,
            (SELECT count(*) FROM pipeline_delivery) AS deliveries,
            (SELECT count(*) FROM audit_event WHERE action LIKE 'pipeline-gate.%') AS audit`,
  );
  return {
    gates: Number(rows[0]!.gates),
    deliveries: Number(rows[0]!.deliveries),
    audit: Number(rows[0]!.audit),
  };
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  github = await startGitHubSimulator([BILLING, LEDGER, PAYMENTS]);
  cp = await startControlPlane({
    STEPGATE_GITHUB_APP_ID: github.appId,
    STEPGATE_GITHUB_APP_PRIVATE_KEY: github.privateKey,
    STEPGATE_GITHUB_WEBHOOK_SECRET: github.webhookSecret,
    STEPGATE_GITHUB_API_URL: github.apiUrl,
    STEPGATE_PUBLIC_URL: PUBLIC_URL,
    STEPGATE_PIPELINE_GATE_POLL_INTERVAL: '200ms',
  });
  db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  const clone = temp.make('github-policies-');
  await cloneEmbedded(cp, clone);
  await pushPolicies(
    cp,
    clone,
    {
      'cicd/production-deploys.yaml': productionPolicyAnyDay(),
      // Its weekend cases no longer hold without the freeze.
      'cicd/production-deploys.test.yaml': null,
      'cicd/it-github.yaml': TEST_POLICY,
    },
    'GitHub suite: production any day, canary and qa',
  );
  tokens.alice = await token('alice-laptop', ['viewer'], 'alice');
  tokens.bob = await token('bob-approver', ['approver'], 'bob');
  aliceDevice = await enrolTotp(cp, tokens.alice, 'alice');
}, 240_000);

afterAll(async () => {
  await db?.end();
  await cp?.destroy();
  await github?.close();
  temp.cleanup();
});

describe('GitHub deployment protection rule', () => {
  it('approves a deploy the policies allow, with the rule in the comment', async () => {
    const { runId, status, body } = await deploy({ environment: 'staging', creator: 'alice' });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.status).toBe('approved');
    const review = await untilReviewed(runId);
    expect(review).toMatchObject({
      state: 'approved',
      environment_name: 'staging',
      installationId: 71,
    });
    expect(review.comment).toContain('Stepgate: approved');
    expect(review.comment).toContain('non-production-deploys/deployers');
    expect(reviewsOf(runId)).toHaveLength(1);
    expect(github.refused).toEqual([]);
  });

  it('rejects a deploy by a principal the policy refuses, with the reason', async () => {
    const { runId, status, body } = await deploy({ environment: 'production', creator: 'frank' });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.status).toBe('rejected');
    const review = await untilReviewed(runId);
    expect(review.state).toBe('rejected');
    expect(review.comment).toContain('Stepgate: rejected');
    expect(review.comment).toContain('@frank');
    expect(review.comment).toContain('no policy allows it');
    const audit = await api(
      cp.url,
      cp.adminToken,
      'GET',
      '/v1/audit?action=pipeline-gate.rejected',
    );
    expect(audit.body.events[0].details).toMatchObject({
      kind: 'github',
      principal: 'frank',
      status: 'rejected',
    });
  });

  it('a production deploy waits until the actor elevates and one approver approves, then is approved', async () => {
    const { runId, status, body } = await deploy({ environment: 'production', creator: 'alice' });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.status).toBe('pending');
    // The status report (a review without a state) tells alice exactly what to do.
    await waitFor('the step-up status report', () => reviewsOf(runId).length >= 1);
    const first = reviewsOf(runId)[0]!;
    expect(first.state).toBeUndefined();
    expect(first.comment).toContain('waiting for a step-up');
    expect(first.comment).toContain(
      'npx stepgate elevate --action deploy --resource production/billing',
    );
    expect(first.comment).toContain(`${PUBLIC_URL}/console/approvals`);
    const approvalId = /npx stepgate approve ([0-9a-f-]{36})/.exec(first.comment ?? '')?.[1];
    expect(approvalId, first.comment).toBeDefined();
    const approval = await api(cp.url, cp.adminToken, 'GET', `/v1/approvals/${approvalId}`);
    expect(approval.body).toMatchObject({
      requester: 'alice',
      action: 'deploy',
      resource: { kind: 'environment', id: 'production/billing' },
      required: 1,
      status: 'pending',
    });

    // Alice elevates (TOTP): MFA is met, the approval is still missing; a second report says so.
    await aliceElevates(['production/**']);
    await waitFor('the report after the elevation', () => reviewsOf(runId).length >= 2);
    const second = reviewsOf(runId)[1]!;
    expect(second.state).toBeUndefined();
    expect(second.comment).not.toContain('npx stepgate elevate');
    expect(second.comment).toContain(`npx stepgate approve ${approvalId}`);
    await new Promise((r) => setTimeout(r, 1000)); // several polls: still waiting
    expect(finalReview(runId)).toBeUndefined();

    // Bob approves with the very command the comment names (the real CLI); the next poll
    // approves the deployment.
    const cli = spawnSync(
      process.execPath,
      [STEPGATE_CLI, 'approve', approvalId!, '--comment', 'CHG-1234'],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: process.env.PATH ?? '', STEPGATE_URL: cp.url, STEPGATE_TOKEN: tokens.bob },
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const review = await untilReviewed(runId);
    expect(review.state).toBe('approved');
    expect(review.comment).toContain('production-deploys/deployers');
    expect(reviewsOf(runId)).toHaveLength(3);
    // Recorded once GitHub took the review.
    await waitFor('the gate recorded as approved', async () => {
      const gate = await db.query('SELECT status FROM pipeline_gate WHERE id = $1', [body.gate]);
      return gate.rows[0]?.status === 'approved';
    });
  }, 120_000);

  it('a step-up for MFA only is satisfied by an elevation alone', async () => {
    // Alice elevated above for production/** only: canary still asks.
    const { runId, body } = await deploy({ environment: 'canary', creator: 'alice' });
    expect(body.status).toBe('pending');
    await waitFor('the status report', () => reviewsOf(runId).length >= 1);
    expect(reviewsOf(runId)[0]!.comment).toContain(
      'npx stepgate elevate --action deploy --resource canary/billing',
    );
    expect(reviewsOf(runId)[0]!.comment).not.toContain('approve');
    await aliceElevates(['canary/**']);
    const review = await untilReviewed(runId);
    expect(review.state).toBe('approved');
  }, 120_000);

  it('a step-up for approvals only is satisfied by an approver', async () => {
    const { runId, body } = await deploy({ environment: 'qa', creator: 'carol' });
    expect(body.status).toBe('pending');
    await waitFor('the status report', () => reviewsOf(runId).length >= 1);
    const comment = reviewsOf(runId)[0]!.comment ?? '';
    expect(comment).not.toContain('npx stepgate elevate');
    const approvalId = /npx stepgate approve ([0-9a-f-]{36})/.exec(comment)?.[1];
    expect(approvalId, comment).toBeDefined();
    // The requester cannot approve her own deployment.
    const own = await api(
      cp.url,
      tokens.bob,
      'GET',
      `/v1/approvals?requester=carol&status=pending`,
    );
    expect(own.body.approvals.map((a: { id: string }) => a.id)).toContain(approvalId);
    const approved = await api(
      cp.url,
      tokens.bob,
      'POST',
      `/v1/approvals/${approvalId}/approve`,
      {},
    );
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect((await untilReviewed(runId)).state).toBe('approved');
  }, 60_000);

  it('rejects at once when an approver denies the approval request, with who and why', async () => {
    const { runId, body } = await deploy({
      repository: PAYMENTS,
      environment: 'qa',
      creator: 'carol',
    });
    expect(body.status).toBe('pending');
    await waitFor('the status report', () => reviewsOf(runId).length >= 1);
    const approvalId = /npx stepgate approve ([0-9a-f-]{36})/.exec(
      reviewsOf(runId)[0]!.comment ?? '',
    )?.[1];
    const denied = await api(cp.url, tokens.bob, 'POST', `/v1/approvals/${approvalId}/deny`, {
      comment: 'not during the audit',
    });
    expect(denied.status, JSON.stringify(denied.body)).toBe(200);
    const review = await untilReviewed(runId);
    expect(review).toMatchObject({ state: 'rejected', installationId: 72 });
    expect(review.comment).toContain(
      `approval request ${approvalId} was denied by bob: not during the audit`,
    );
  }, 60_000);

  it('with two replicas polling, every waiting deployment is reviewed exactly once', async () => {
    const replica = await startControlPlane(
      {
        STEPGATE_GITHUB_APP_ID: github.appId,
        STEPGATE_GITHUB_APP_PRIVATE_KEY: github.privateKey,
        STEPGATE_GITHUB_WEBHOOK_SECRET: github.webhookSecret,
        STEPGATE_GITHUB_API_URL: github.apiUrl,
        STEPGATE_PUBLIC_URL: PUBLIC_URL,
        STEPGATE_PIPELINE_GATE_POLL_INTERVAL: '50ms',
      },
      { replicaOf: cp },
    );
    try {
      const runs: number[] = [];
      let approvalId: string | undefined;
      for (let i = 0; i < 6; i++) {
        const { runId, body } = await deploy({
          repository: LEDGER,
          environment: 'qa',
          creator: 'carol',
        });
        expect(body.status).toBe('pending');
        runs.push(runId);
        await waitFor('the status report', () => reviewsOf(runId).length >= 1);
        approvalId ??= /npx stepgate approve ([0-9a-f-]{36})/.exec(
          reviewsOf(runId)[0]!.comment ?? '',
        )?.[1];
      }
      // One approval makes a grant for carol's deploy to qa/ledger: every gate is satisfied at
      // once, and both replicas race for them.
      const approved = await api(
        cp.url,
        tokens.bob,
        'POST',
        `/v1/approvals/${approvalId}/approve`,
        {},
      );
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      for (const runId of runs) expect((await untilReviewed(runId)).state).toBe('approved');
      await new Promise((r) => setTimeout(r, 1000));
      for (const runId of runs) {
        expect(
          reviewsOf(runId).filter((r) => r.state !== undefined),
          `run ${runId}`,
        ).toHaveLength(1);
        expect(
          reviewsOf(runId).filter((r) => r.state === undefined),
          `run ${runId}`,
        ).toHaveLength(1);
      }
      expect(github.refused).toEqual([]);
    } finally {
      await replica.destroy();
    }
  }, 120_000);

  it('rejects a deployment whose step-up is not met before the gate expires', async () => {
    const { runId, body } = await deploy({
      repository: LEDGER,
      environment: 'production',
      creator: 'carol',
    });
    expect(body.status).toBe('pending');
    await waitFor('the status report', () => reviewsOf(runId).length >= 1);
    // As if STEPGATE_PIPELINE_GATE_TTL had passed.
    await db.query(
      `UPDATE pipeline_gate SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [body.gate],
    );
    const review = await untilReviewed(runId);
    expect(review.state).toBe('rejected');
    expect(review.comment).toContain('not met in time');
    await waitFor('the gate recorded as expired', async () => {
      const gate = await db.query('SELECT status FROM pipeline_gate WHERE id = $1', [body.gate]);
      return gate.rows[0]?.status === 'expired';
    });
    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?action=pipeline-gate.expired');
    expect(audit.body.events.map((e: { target: string }) => e.target)).toContain(
      `pipeline-gate:${body.gate}`,
    );
  }, 60_000);
});

describe('GitHub webhook deliveries refused', () => {
  const payload = () =>
    deploymentProtectionRulePayload(github, {
      repository: BILLING,
      environment: 'staging',
      creator: 'alice',
      runId: nextRun++,
    });

  it('a bad signature is a 401 and nothing is recorded', async () => {
    const before = await counts();
    const reviews = github.reviews.length;
    const body = JSON.stringify(payload());
    for (const delivery of [
      signedDelivery(body, 'not-the-webhook-secret-at-all'),
      (() => {
        const d = signedDelivery(body, github.webhookSecret);
        delete d.headers['x-hub-signature-256'];
        return d;
      })(),
      // Signed, then the body changed.
      { ...signedDelivery(body, github.webhookSecret), body: body.replace('"alice"', '"bob"') },
    ]) {
      const response = await deliver(delivery);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('webhook/bad_signature');
    }
    expect(await counts()).toEqual(before);
    expect(github.reviews.length).toBe(reviews);
  });

  it('a replayed delivery is refused and acts once', async () => {
    const delivery = signedDelivery(JSON.stringify(payload()), github.webhookSecret);
    expect((await deliver(delivery)).status).toBe(202);
    const before = await counts();
    const replayed = await deliver(delivery);
    expect(replayed.status).toBe(409);
    expect(replayed.body.error).toBe('webhook/replayed');
    expect(await counts()).toEqual(before);
  });

  it('malformed payloads are a 400 naming the field, and nothing is recorded', async () => {
    const before = await counts();
    const reviews = github.reviews.length;
    const cases: [string, (p: Record<string, unknown>) => unknown, string][] = [
      ['not JSON', () => '{"action": "requested", ', 'not valid JSON'],
      ['no deployment', (p) => ({ ...p, deployment: undefined }), 'deployment'],
      ['another action', (p) => ({ ...p, action: 'completed' }), 'action'],
      ['no installation', (p) => ({ ...p, installation: undefined }), 'installation'],
      [
        'a bad sha',
        (p) => ({ ...p, deployment: { ...(p.deployment as object), sha: 'main' } }),
        'deployment.sha',
      ],
      [
        'a callback on another host',
        (p) => ({
          ...p,
          deployment_callback_url:
            'https://attacker.example/repos/acme/billing/actions/runs/1/deployment_protection_rule',
        }),
        'deployment_callback_url',
      ],
      [
        "a callback to another repository's run",
        (p) => ({
          ...p,
          deployment_callback_url: `${github.apiUrl}/repos/acme/ledger/actions/runs/1/deployment_protection_rule`,
        }),
        'deployment_callback_url',
      ],
    ];
    const delivery = signedDelivery('{}', github.webhookSecret).delivery;
    for (const [name, mutate, field] of cases) {
      const mutated = mutate(payload());
      const body = typeof mutated === 'string' ? mutated : JSON.stringify(mutated);
      const response = await deliver(
        signedDelivery(body, github.webhookSecret, undefined, delivery),
      );
      expect(response.status, name).toBe(400);
      expect(response.body.error, name).toBe('request/invalid');
      expect(String(response.body.message), name).toContain(field);
      expect(JSON.stringify(response.body), name).not.toMatch(/at .*\.js:\d+/);
    }
    expect(await counts()).toEqual(before);
    expect(github.reviews.length).toBe(reviews);
    // The delivery id was not recorded either: the same id with a good payload is processed.
    const good = await deliver(
      signedDelivery(JSON.stringify(payload()), github.webhookSecret, undefined, delivery),
    );
    expect(good.status, JSON.stringify(good.body)).toBe(202);
  });

  it("answers GitHub's ping and ignores other events", async () => {
    const ping = await deliver(
      signedDelivery('{"zen":"Keep it logically awesome."}', github.webhookSecret, 'ping'),
    );
    expect(ping).toMatchObject({ status: 202, body: { status: 'pong' } });
    const push = await deliver(signedDelivery('{}', github.webhookSecret, 'push'));
    expect(push).toMatchObject({ status: 202, body: { status: 'ignored' } });
  });
});
