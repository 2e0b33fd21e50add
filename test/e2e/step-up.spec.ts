/**
 * Step-up end to end, all real: the control plane (PostgreSQL, Redis, embedded Git with the
 * example `policies/`), one agent process connected to it, and the built `stepgate` CLI.
 *
 * 1. kubectl: alice (group sre) edits a production ConfigMap; the agent's admission webhook
 *    refuses it and names the command that elevates her; `stepgate elevate` (TOTP) issues a
 *    grant that reaches the agent, and the retried AdmissionReview passes — as does
 *    `kubectl exec` through the authorization webhook. Revoking the grant closes it again.
 * 2. A production release waits for an approver: `stepgate exec --request` blocks until bob
 *    approves, then runs the command; the agent honours the approval grant too.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  AgentProcess,
  api,
  call,
  killAllAgents,
  REPO_ROOT,
  removeTempDirs,
  startPolicyFleet,
  tempDir,
  waitFor,
} from './support.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');

/** A release policy without the example's weekend freeze, so the suite runs on any day. */
const RELEASE_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: e2e-releases
target:
  actions: ["release"]
  resources: ["prod/**"]
rules:
  - name: one-approver
    effect: step_up
    require: { approvals: 1 }
    message: Production releases need an approver other than the releaser.
  # Roles come from the policy data (data.people: carol is a deployer), never from flags.
  - name: deployers-release
    effect: allow
    when: '"deployer" in principal.roles'
`;

/** The AdmissionReview kube-apiserver sends for `kubectl edit configmap app-config -n prod`. */
function configMapUpdate(uid: string, dryRun = false) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      requestKind: { group: '', version: 'v1', kind: 'ConfigMap' },
      requestResource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'app-config',
      namespace: 'prod',
      operation: 'UPDATE',
      userInfo: { username: 'alice', uid: 'u-alice', groups: ['sre', 'system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-config', namespace: 'prod' },
        data: { LOG_LEVEL: 'debug' },
      },
      oldObject: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-config', namespace: 'prod' },
        data: { LOG_LEVEL: 'info' },
      },
      dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
    },
  };
}

/** The SubjectAccessReview for `kubectl exec -n prod api-0 -- sh` by alice. */
const EXEC_REVIEW = {
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SubjectAccessReview',
  spec: {
    resourceAttributes: {
      namespace: 'prod',
      verb: 'create',
      group: '',
      resource: 'pods',
      subresource: 'exec',
      name: 'api-0',
    },
    user: 'alice',
    groups: ['sre', 'system:authenticated'],
  },
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI. `input` is piped to stdin at once, or, as a function, is asked with the
 * output so far until it returns a line to type (e.g. a code computed from a printed secret).
 */
function stepgate(
  args: string[],
  token: string,
  input: string | ((stdout: string) => Promise<string | undefined>) = '',
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('STEPGATE_')) env[key] = value;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...env, NO_COLOR: '1', STEPGATE_URL: cp.url, STEPGATE_TOKEN: token },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let answered = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (typeof input === 'function' && !answered)
      void input(stdout).then((line) => {
        if (line === undefined || answered) return;
        answered = true;
        child.stdin.end(`${line}\n`);
      });
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (typeof input === 'string') child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const show = (run: Run) => `exit ${run.status}\n${run.stdout}\n${run.stderr}`;

let cp: ControlPlaneProcess;
let agent: AgentProcess;
let tokens: Record<string, string>;

beforeAll(async () => {
  ({ cp, agent, tokens } = await startPolicyFleet({
    name: 'step-up',
    people: { alice: ['viewer'], carol: ['viewer'], bob: ['approver'] },
    policies: { 'e2e/releases.yaml': RELEASE_POLICY },
    message: 'e2e: releases need an approver',
  }));
}, 300_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  removeTempDirs();
});

describe('kubectl edit in production: refused, elevate, retry passes', () => {
  let grantId = '';

  it('refuses the edit and tells alice exactly which command elevates her', async () => {
    const reply = await call(agent.url, 'POST', '/v1/k8s/admission', configMapUpdate('uid-1'));
    expect(reply.status).toBe(200);
    expect(reply.body.response.uid).toBe('uid-1');
    expect(reply.body.response.allowed).toBe(false);
    expect(reply.body.response.status.message).toContain(
      "npx stepgate elevate --action 'k8s:update:configmaps' --resource 'prod/app-config'",
    );
    const exec = await call(agent.url, 'POST', '/v1/k8s/authorize', EXEC_REVIEW);
    expect(exec.body.status.allowed).toBe(false);
    expect(exec.body.status.denied).toBe(true);
  });

  it('an admin issues an enrolment code; stepgate elevate --enroll --code, then stepgate elevate issues a grant the agent honours', async () => {
    const issued = await stepgate(['enrolment-codes', 'create', 'alice'], cp.adminToken);
    expect(issued.status, show(issued)).toBe(0);
    const enrolmentCode = /(sgenrol_\S+)/.exec(issued.stdout)?.[1];
    expect(enrolmentCode, show(issued)).toBeDefined();
    let secret: string | undefined;
    // Enrolment prints the secret (and a QR code), then asks for the first code, which confirms.
    const enrol = await stepgate(
      ['elevate', '--enroll', '--code', enrolmentCode!],
      tokens.alice!,
      async (stdout) => {
        secret = /secret[^A-Z2-7]*([A-Z2-7]{16,})/i.exec(stdout)?.[1];
        return secret === undefined ? undefined : generate({ secret });
      },
    );
    expect(enrol.status, show(enrol)).toBe(0);
    expect(enrol.stdout).toContain('TOTP factor confirmed for alice.');
    // Enrolling granted nothing; the next code (one step later) elevates.
    expect((await api(cp.url, tokens.alice!, 'GET', '/v1/grants')).body.grants).toEqual([]);
    const code = await generate({ secret: secret!, epoch: Math.floor(Date.now() / 1000) + 30 });
    const elevate = await stepgate(['elevate', '--code', code], tokens.alice!);
    expect(elevate.status, show(elevate)).toBe(0);
    const grants = await api(cp.url, tokens.alice!, 'GET', '/v1/grants');
    expect(grants.body.grants).toHaveLength(1);
    grantId = grants.body.grants[0].id as string;

    await waitFor(
      'the grant to reach the agent',
      async () => {
        const retry = await call(agent.url, 'POST', '/v1/k8s/admission', configMapUpdate('uid-2'));
        return retry.body.response?.allowed === true;
      },
      10_000,
    );
    const exec = await call(agent.url, 'POST', '/v1/k8s/authorize', EXEC_REVIEW);
    expect(exec.body.status.allowed).toBe(true);
  });

  it('revoking the grant reaches the agent at once', async () => {
    const revoke = await stepgate(['grants', 'revoke', grantId], tokens.alice!);
    expect(revoke.status, show(revoke)).toBe(0);
    await waitFor(
      'the revocation to reach the agent',
      async () => {
        const retry = await call(agent.url, 'POST', '/v1/k8s/admission', configMapUpdate('uid-3'));
        return retry.body.response?.allowed === false;
      },
      5_000,
    );
  });
});

describe('a production release waits for an approver', () => {
  it('stepgate exec --request blocks until bob approves, then runs the release', async () => {
    const marker = join(tempDir('release'), 'released');
    const release = stepgate(
      [
        'exec',
        '--action',
        'release',
        '--resource',
        'prod/billing',
        // An approval is for one kind of resource: the agent below decides for a service.
        '--resource-kind',
        'service',
        '--request',
        'ship billing 2.4',
        '--timeout',
        '60s',
        '--',
        process.execPath,
        '-e',
        `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'done')`,
      ],
      tokens.carol!,
    );
    let requestId = '';
    await waitFor(
      'an approval request from carol',
      async () => {
        const pending = await api(cp.url, tokens.bob!, 'GET', '/v1/approvals?status=pending');
        requestId = (pending.body.approvals?.[0]?.id as string | undefined) ?? '';
        return requestId !== '';
      },
      30_000,
    );
    expect(existsSync(marker)).toBe(false);

    const approve = await stepgate(['approve', requestId, '--comment', 'looks good'], tokens.bob!);
    expect(approve.status, show(approve)).toBe(0);
    const done = await release;
    expect(done.status, show(done)).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('done');

    // The approval grant reached the agent as well: carol's release passes there too.
    await waitFor(
      'the approval grant to reach the agent',
      async () => {
        const decided = await call(agent.url, 'POST', '/v1/decide', {
          principal: { id: 'carol', roles: ['deployer'] },
          action: 'release',
          resource: { kind: 'service', id: 'prod/billing' },
        });
        return decided.body.effect === 'allow';
      },
      10_000,
    );
  });
});
