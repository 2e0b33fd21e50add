/**
 * The GitHub Action (integrations/github-action) run as the runner runs it: `node <runs.main>`
 * with the inputs as INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and the
 * job's OIDC token from ACTIONS_ID_TOKEN_REQUEST_URL, against a real control plane.
 *
 * GitHub cannot be reached from here; a local server implements what the action calls, as
 * documented (test/support/github-actions-oidc.ts cites the pages):
 * - https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
 *   (GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=..., bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN,
 *   answer {"value": "<jwt>"}), and the provider's discovery document and JWKS, which the
 *   control plane fetches because stepgate.yaml names the issuer;
 * - https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax (inputs as
 *   INPUT_<NAME>, runs.using node20, runs.main);
 * - https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
 *   ($GITHUB_OUTPUT with name<<delimiter blocks, $GITHUB_STEP_SUMMARY Markdown, ::error::,
 *   ::add-mask::).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  startGitHubActionsOidc,
  type GitHubActionsOidc,
} from '../../support/github-actions-oidc.js';
import {
  cloneEmbedded,
  personToken,
  pushPolicies,
  settingsWith,
} from '../control-plane/step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs, waitFor } from '../control-plane/support.js';

const ACTION_DIR = join(REPO_ROOT, 'integrations/github-action');
const metadata = parse(readFileSync(join(ACTION_DIR, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; main: string };
};

const POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: it-action',
  'target:',
  '  actions: ["ship"]',
  '  resources: ["svc/**"]',
  'rules:',
  '  - name: production-approval',
  '    effect: step_up',
  '    when: resource.id.globMatch("svc/prod/**")',
  '    require: { approvals: 1 }',
  '    message: Production ships need one approver.',
  '  - name: deployers',
  '    effect: allow',
  '    when: \'"deployer" in principal.roles\'',
  '',
].join('\n');

const temp = tempDirs();
let cp: ControlPlaneProcess;
let github: GitHubActionsOidc;
let bob: string;

interface ActionRun {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** GITHUB_OUTPUT as the runner reads it: name<<delimiter blocks (and name=value lines). */
function readOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([^<=]+)<<(.+)$/.exec(line);
    if (block) {
      const end = lines.indexOf(block[2]!, i + 1);
      outputs[block[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('='))
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return outputs;
}

/** Starts the action as the runner does, for a job `actor` started; resolves when it exits. */
function runAction(
  inputs: Record<string, string>,
  options: { actor?: string; whileRunning?: (stdout: () => string) => Promise<void> } = {},
): Promise<ActionRun> {
  const dir = temp.make('action-run-');
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  github.job.actor = options.actor ?? 'alice';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/billing',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_RUN_ID: '9000001',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    ACTIONS_ID_TOKEN_REQUEST_URL: github.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: github.requestToken,
  };
  // Defaults as the runner applies them from action.yml, then the workflow's `with:`.
  for (const [name, spec] of Object.entries(metadata.inputs))
    if (spec.default !== undefined) env[`INPUT_${name.toUpperCase()}`] = spec.default;
  for (const [name, value] of Object.entries({ url: cp.url, ...inputs }))
    env[`INPUT_${name.toUpperCase()}`] = value;
  const child = spawn(process.execPath, [join(ACTION_DIR, metadata.runs.main)], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return (async () => {
    await options.whileRunning?.(() => stdout);
    const code = await exited;
    return {
      code,
      stdout,
      outputs: readOutputs(readFileSync(outputFile, 'utf8')),
      summary: readFileSync(summaryFile, 'utf8'),
    };
  })();
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  github = await startGitHubActionsOidc();
  cp = await startControlPlane();
  const clone = temp.make('github-action-');
  await cloneEmbedded(cp, clone);
  const settings = readFileSync(join(clone, 'stepgate.yaml'), 'utf8');
  await pushPolicies(
    cp,
    clone,
    {
      'stepgate.yaml': settingsWith(
        settings,
        [
          'issuers:',
          `  - issuer: ${github.issuer}`,
          '    audience: stepgate',
          '    claims: { principal: actor, shape: github-actions }',
        ].join('\n'),
      ),
      'cicd/it-action.yaml': POLICY,
    },
    'GitHub Action suite: trust the local GitHub Actions issuer',
  );
  bob = await personToken(cp, 'bob', ['approver']);
}, 240_000);

afterAll(async () => {
  await cp?.destroy();
  await github?.close();
  temp.cleanup();
});

describe('the GitHub Action, run as the runner runs it', () => {
  it('is a node20 action whose main is the committed file', () => {
    expect(metadata.runs).toEqual({ using: 'node20', main: 'index.mjs' });
  });

  it('allows: exit 0, outputs and a job summary, the token asked for the stepgate audience', async () => {
    const asked = github.requestedAudiences.length;
    const run = await runAction({ action: 'ship', resource: 'service:svc/dev/api' });
    expect(run.code, run.stdout).toBe(0);
    expect(github.requestedAudiences.slice(asked)).toEqual(['stepgate']);
    expect(run.outputs).toMatchObject({
      effect: 'allow',
      principal: 'alice',
      requirement: '{}',
      'approval-id': '',
    });
    expect(JSON.parse(run.outputs.reasons!)).toEqual([
      expect.objectContaining({ policy: 'it-action', rule: 'deployers', effect: 'allow' }),
    ]);
    expect(run.outputs['decision-id']).toMatch(/\S/);
    expect(run.summary).toContain('### Stepgate: allowed');
    expect(run.summary).toContain('`ship` on `service:svc/dev/api` for `alice`');
    // The token is masked before anything else is printed, and never printed otherwise.
    expect(run.stdout.split('\n')[0]).toMatch(/^::add-mask::ey/);
  });

  it('denies: the step fails with the reason', async () => {
    // frank is a developer in data.people: no policy lets him ship.
    const run = await runAction(
      { action: 'ship', resource: 'service:svc/dev/api' },
      { actor: 'frank' },
    );
    expect(run.code, run.stdout).toBe(1);
    expect(run.outputs).toMatchObject({ effect: 'deny', principal: 'frank' });
    expect(run.stdout).toContain('::error title=Stepgate::denied ship on service:svc/dev/api');
    expect(run.summary).toContain('### Stepgate: denied');
  });

  it('steps up: opens an approval request, waits, and passes once an approver approves', async () => {
    const run = await runAction(
      { action: 'ship', resource: 'service:svc/prod/api', timeout: '60s', 'poll-interval': '1s' },
      {
        whileRunning: async (stdout) => {
          await waitFor('the approval request', () =>
            /Approval request [0-9a-f-]{36}/.test(stdout()),
          );
          const id = /Approval request ([0-9a-f-]{36})/.exec(stdout())![1]!;
          const approval = await api(cp.url, cp.adminToken, 'GET', `/v1/approvals/${id}`);
          // Opened for the job's verified principal, with the run in the reason.
          expect(approval.body).toMatchObject({
            requester: 'alice',
            action: 'ship',
            required: 1,
            reason: expect.stringContaining('acme/billing: workflow deploy, run 9000001'),
          });
          const approved = await api(cp.url, bob, 'POST', `/v1/approvals/${id}/approve`, {
            comment: 'change CHG-1',
          });
          expect(approved.status, JSON.stringify(approved.body)).toBe(200);
        },
      },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.effect).toBe('allow');
    expect(run.outputs['approval-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.summary).toContain('### Stepgate: allowed');
  });

  it('times out: the step fails and the outputs say step_up with the requirement', async () => {
    const started = Date.now();
    const run = await runAction({
      action: 'ship',
      resource: 'service:svc/prod/web',
      timeout: '3s',
      'poll-interval': '1s',
    });
    expect(run.code, run.stdout).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(run.outputs.effect).toBe('step_up');
    expect(JSON.parse(run.outputs.requirement!)).toEqual({ approvals: 1 });
    expect(run.stdout).toContain('::error title=Stepgate::timed out after 3s');
    expect(run.summary).toContain('### Stepgate: timed out waiting for the step-up');
    expect(run.summary).toContain('npx stepgate approve');
  });

  it('fails with the reason when the job has no id-token permission', async () => {
    const dir = temp.make('action-no-oidc-');
    const child = spawn(process.execPath, [join(ACTION_DIR, metadata.runs.main)], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        INPUT_URL: cp.url,
        INPUT_ACTION: 'ship',
        INPUT_RESOURCE: 'svc/dev/api',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stdout).toContain('permissions: id-token: write');
  });
});
