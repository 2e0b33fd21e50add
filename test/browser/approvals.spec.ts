/**
 * The Approvals page in a real Chromium (issue 15): alice runs `stepgate exec --request` with
 * the real CLI against a policy that wants one approver; it waits. bob signs in to the console,
 * finds her request among the pending ones, approves it with a comment, and alice's command
 * runs: the CLI exits 0 and printed the command's marker.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, killAllAgents, REPO_ROOT, removeTempDirs, waitFor } from '../e2e/support.js';
import {
  expectNoProblems,
  launchChromium,
  newConsolePage,
  screenshot,
  seriousViolations,
  signIn,
  startConsoleFleet,
  type ConsoleFleet,
} from './support.js';

const CLI = join(REPO_ROOT, 'apps/cli/bin/stepgate.js');
const MARKER = 'released-billing-2.4';

const RELEASE_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: console-approvals
target:
  actions: ["release"]
  resources: ["prod/**"]
rules:
  - name: one-approver
    effect: step_up
    require: { approvals: 1 }
    message: Production releases need an approver other than the releaser.
  # Roles come from the policy data (data.people: alice is a deployer), never from the request.
  - name: deployers
    effect: allow
    when: '"deployer" in principal.roles'
`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a child process, with only the settings given here. */
function stepgate(args: string[], token: string): { done: Promise<Run>; output: () => string } {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('STEPGATE_')) env[key] = value;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...env, NO_COLOR: '1', STEPGATE_URL: fleet.cp.url, STEPGATE_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { done, output: () => `${stdout}\n${stderr}` };
}

const show = (run: Run) => `exit ${run.status}\n${run.stdout}\n${run.stderr}`;

let fleet: ConsoleFleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([
    startConsoleFleet({
      name: 'console-approvals',
      // alice may approve others' requests, never her own.
      people: { alice: ['approver'], bob: ['approver'] },
      policies: { 'console/approvals.yaml': RELEASE_POLICY },
      message: 'console: releases need an approver',
    }),
    launchChromium(),
  ]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await killAllAgents();
  await fleet?.cp.destroy();
  removeTempDirs();
});

describe('the Approvals page', () => {
  it('approves a request made with stepgate exec, and the waiting command runs', async () => {
    const release = stepgate(
      [
        'exec',
        '--action',
        'release',
        '--resource',
        'prod/billing',
        '--resource-kind',
        'service',
        '--request',
        'ship billing 2.4 (INC-42 fix)',
        '--timeout',
        '120s',
        '--',
        process.execPath,
        '-e',
        `console.log(${JSON.stringify(MARKER)})`,
      ],
      fleet.tokens.alice!,
    );
    await waitFor(
      'the approval request from alice',
      async () => {
        const pending = await api(
          fleet.cp.url,
          fleet.tokens.bob!,
          'GET',
          '/v1/approvals?status=pending',
        );
        return pending.body.approvals?.length === 1;
      },
      60_000,
    );
    expect(release.output()).not.toContain(MARKER);

    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.bob!);
    await page.getByRole('link', { name: 'Approvals', exact: true }).click();
    await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    const row = page.getByRole('row', { name: /alice/ });
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain('release');
    expect(text).toContain('prod/billing');
    expect(text).toContain('ship billing 2.4 (INC-42 fix)');
    expect(text).toContain('0 of 1');
    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'approvals');

    await row.getByRole('button', { name: /^Approve alice/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Approve the request' });
    await dialog.getByLabel(/Reason/).fill('Checked the diff, go ahead');
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => page.getByText(/alice now holds a grant for release/).count()).toBe(1);
    // No pending request is left on the page.
    await page.getByText('No request waits for approval.').waitFor();

    const done = await release.done;
    expect(done.status, show(done)).toBe(0);
    expect(done.stdout, show(done)).toContain(MARKER);

    // The approval as the API keeps it: bob's, with his comment.
    const approved = await api(
      fleet.cp.url,
      fleet.tokens.bob!,
      'GET',
      '/v1/approvals?status=approved',
    );
    expect(approved.body.approvals[0].approvals).toEqual([
      expect.objectContaining({ approver: 'bob', comment: 'Checked the diff, go ahead' }),
    ]);
    await page.getByLabel('Status').selectOption('approved');
    await page.getByRole('row', { name: /alice/ }).getByText('Checked the diff').waitFor();
    expectNoProblems(problems);
    await page.context().close();
  }, 180_000);

  it('alice cannot approve her own request: the page shows why', async () => {
    const asked = await api(fleet.cp.url, fleet.tokens.alice!, 'POST', '/v1/approvals', {
      action: 'release',
      resource: { kind: 'service', id: 'prod/ledger' },
      reason: 'ship ledger 1.2',
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, fleet.consoleUrl, fleet.tokens.alice!);
    await page.getByRole('link', { name: 'Approvals', exact: true }).click();
    const row = page.getByRole('row', { name: /prod\/ledger/ });
    await row.getByRole('button', { name: /^Approve alice/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Approve the request' });
    await dialog.getByLabel(/Reason/).fill('my own');
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect
      .poll(() => dialog.getByRole('alert').textContent())
      .toContain('a requester never approves their own request');
    expect(await dialog.getByRole('alert').textContent()).toContain('approval/forbidden');
    // Still pending, with no approval.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.textContent()).toContain('0 of 1');
    expectNoProblems(problems);
    await page.context().close();
  }, 180_000);
});
