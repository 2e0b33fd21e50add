/**
 * The step-up commands end to end: the built CLI (apps/cli/dist/main.js) as a real process
 * against a real control plane (own Postgres database and Redis prefix) whose embedded policy
 * repository gets a push with a step-up rule, an approval rule and a deny. An admin issues an
 * enrolment code with the CLI; TOTP codes are computed here with otplib from the secret the CLI
 * prints at enrolment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  REPO_ROOT,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import { ensureControlPlaneBuilt } from '../integration/control-plane/support.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;

/** Applies need fresh MFA, deploys one approval, prod/frozen is refused, engineers allowed. */
const POLICY_FILES: Record<string, string> = {
  'cli-it/access.yaml': `apiVersion: stepgate/v1
kind: Policy
name: cli-access
target:
  actions: ["cli:read", "cli:apply", "cli:deploy"]
rules:
  - name: frozen
    effect: deny
    when: 'resource.id == "prod/frozen"'
    message: prod/frozen is frozen.
  - name: engineers
    effect: allow
    when: '"engineer" in principal.roles'
`,
  'cli-it/apply.yaml': `apiVersion: stepgate/v1
kind: Policy
name: cli-apply
target:
  actions: ["cli:apply"]
  resources: ["prod/**"]
rules:
  - name: fresh-mfa
    effect: step_up
    require: { level: mfa, maxAge: 15m }
    message: Production applies need MFA within 15 minutes.
`,
  'cli-it/deploy.yaml': `apiVersion: stepgate/v1
kind: Policy
name: cli-deploy
target:
  actions: ["cli:deploy"]
  resources: ["prod/**"]
rules:
  - name: one-approval
    effect: step_up
    require: { approvals: 1 }
    message: Production deploys need an approver.
`,
};

let cp: ControlPlaneProcess;
let work: string;
const tokens: Record<string, string> = {};
let totpSecret = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process with its output so far. */
interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<Run>;
}

/** The CLI environment: only what the test gives, never the developer's STEPGATE_* settings. */
function cliEnv(token: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('STEPGATE_') && key !== 'FORCE_COLOR') env[key] = value;
  }
  return { ...env, NO_COLOR: '1', STEPGATE_URL: cp.url, STEPGATE_TOKEN: token, ...extra };
}

function start(args: string[], token: string, extra: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: work,
    env: cliEnv(token, extra),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

async function stepgate(args: string[], token = tokens.alice!, extra?: Record<string, string>) {
  const running = start(args, token, extra);
  running.child.stdin!.end();
  const run = await running.done;
  expect(run.stderr, describe_(args, run)).not.toMatch(STACK_FRAME);
  return run;
}

const describe_ = (args: string[], run: Run): string =>
  `stepgate ${args.join(' ')} -> exit ${run.status}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

/** alice's token is the principal; no --principal or --role (roles come from data.people). */
const alice: string[] = [];

/** A code for the next 30-second step: the one just used for enrolment cannot be replayed. */
async function nextCode(): Promise<string> {
  return generate({ secret: totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  // The CLI under test is the current source.
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'apps/cli/tsconfig.json'],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (build.status !== 0 && !existsSync(CLI)) {
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  }
  cp = await startControlPlane();
  work = mkdtempSync(join(tmpdir(), 'stepgate-cli-step-up-'));
  for (const [name, scopes] of [
    ['alice', ['viewer']],
    ['bob', ['approver']],
  ] as const) {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: `${name}-cli`,
      scopes,
      subject: name,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    tokens[name] = created.body.token as string;
  }
  const clone = join(work, 'policies');
  await cloneEmbedded(cp, clone);
  // Roles come from the policy data, never from flags: alice is an engineer in data.people.
  const people = readFileSync(join(clone, 'data/people.yaml'), 'utf8').replace(
    /^alice: \{ roles: \[(.*)\] \}$/m,
    'alice: { roles: [$1, engineer] }',
  );
  if (!people.includes('engineer]')) throw new Error('alice was not found in data/people.yaml');
  await pushPolicies(
    cp,
    clone,
    { ...POLICY_FILES, 'data/people.yaml': people },
    'CLI step-up policies',
  );
}, 300_000);

afterAll(async () => {
  await cp?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('check', () => {
  it('exits 0 on allow', async () => {
    const args = ['check', ...alice, '--action', 'cli:read', '--resource', 'prod/billing'];
    const run = await stepgate(args);
    expect(run.status, describe_(args, run)).toBe(0);
    expect(run.stdout).toMatch(
      /^ALLOW cli:read on cli:prod\/billing for alice \(revision \d+\)\n$/,
    );
  });

  it('exits 1 on deny, with the policy message', async () => {
    const args = ['check', ...alice, '--action', 'cli:read', '--resource', 'prod/frozen'];
    const run = await stepgate(args);
    expect(run.status, describe_(args, run)).toBe(1);
    expect(run.stdout).toContain('DENY cli:read on cli:prod/frozen for alice');
    expect(run.stdout).toContain('cli-access/frozen: prod/frozen is frozen.');
  });

  it('exits 3 on step-up and prints what is needed and the command that satisfies it', async () => {
    const args = ['check', ...alice, '--action', 'cli:apply', '--resource', 'prod/billing'];
    const run = await stepgate(args);
    expect(run.status, describe_(args, run)).toBe(3);
    expect(run.stdout).toContain(
      'STEP-UP NEEDED cli:apply on cli:prod/billing for alice: level mfa (authenticated within 15m)',
    );
    expect(run.stdout).toContain('Production applies need MFA within 15 minutes.');
    expect(run.stdout).toContain('npx stepgate elevate --action cli:apply --resource prod/billing');
  });

  it('exits 2 with one line when a role flag is given or the token is wrong', async () => {
    const role = await stepgate([
      'check',
      '--role',
      'engineer',
      '--action',
      'cli:read',
      '--resource',
      'prod/x',
    ]);
    expect(role.status).toBe(2);
    expect(role.stderr).toContain('--role is no longer accepted');
    expect(role.stderr).toContain('data.people');
    const wrong = await stepgate(
      ['check', ...alice, '--action', 'cli:read', '--resource', 'prod/x'],
      'sg_not_a_real_token_000000',
    );
    expect(wrong.status).toBe(2);
    expect(wrong.stderr.split('\n')[0]).toMatch(/^error: .*\(auth\/\w+\)$/);
    expect(wrong.stderr).not.toContain('sg_not_a_real_token_000000');
  });
});

describe('elevate and exec', () => {
  const marker = () => join(work, 'ran-marker');
  const execArgs = () => [
    'exec',
    ...alice,
    '--action',
    'cli:apply',
    '--resource',
    'prod/billing',
    '--',
    'sh',
    '-c',
    `touch ${marker()}; exit 7`,
  ];

  it('exec does not run the command while a step-up is needed', async () => {
    const run = await stepgate(execArgs());
    expect(run.status, describe_(execArgs(), run)).toBe(3);
    expect(existsSync(marker())).toBe(false);
    expect(run.stderr).toContain('STEP-UP NEEDED cli:apply');
    expect(run.stderr).toContain('stepgate: not running sh');
  });

  it('elevate --enroll needs an enrolment code: the token alone enrols nothing', async () => {
    const args = ['elevate', '--enroll'];
    const run = await stepgate(args);
    expect(run.status, describe_(args, run)).toBe(1);
    expect(run.stderr).toContain('(elevation/enrolment_code_required)');
    expect(run.stderr).toContain('stepgate enrolment-codes create alice');
    expect(run.stdout).not.toMatch(/secret/);
  });

  it('an admin issues a code with enrolment-codes create; elevate --enroll --code prints the secret and a QR code, confirms with the first code and grants nothing', async () => {
    const issue = ['enrolment-codes', 'create', 'alice', '--ttl', '1h'];
    const issued = await stepgate(issue, cp.adminToken);
    expect(issued.status, describe_(issue, issued)).toBe(0);
    const code = /^ {2}(sgenrol_\S+)$/m.exec(issued.stdout)?.[1];
    expect(code, issued.stdout).toBeDefined();
    expect(issued.stdout).toContain(`stepgate elevate --enroll --code ${code}`);
    const listed = await stepgate(['enrolment-codes', '--subject', 'alice'], cp.adminToken);
    expect(listed.stdout).toContain('token:bootstrap-admin');
    expect(listed.stdout).not.toContain(code);

    const args = ['elevate', '--enroll', '--code', code!];
    const running = start(args, tokens.alice!);
    await waitFor(
      'the enrolment secret',
      () => /^ {2}secret\s+\S+$/m.test(running.stdout()),
      30_000,
    );
    totpSecret = /^ {2}secret\s+(\S+)$/m.exec(running.stdout())![1]!;
    running.child.stdin!.end(`${await generate({ secret: totpSecret })}\n`);
    const run = await running.done;
    expect(run.status, describe_(args, run)).toBe(0);
    expect(run.stdout).toMatch(/otpauth URI\s+otpauth:\/\/totp\//);
    expect(run.stdout).toMatch(/[▀▄█]/);
    expect(run.stdout).toContain('TOTP factor confirmed for alice.');
    expect(run.stdout).toContain('Enrolling grants nothing by itself');
    expect(run.stderr).toContain('Code shown by your authenticator app now:');
    const grants = await api(cp.url, cp.adminToken, 'GET', '/v1/grants?subject=alice');
    expect(grants.body.grants).toEqual([]);
  });

  it('elevate --code gives a grant, after which check allows and exec runs the command', async () => {
    const args = ['elevate', '--code', await nextCode(), '--action', 'cli:apply'];
    args.push('--resource', 'prod/**', '--ttl', '10m');
    const run = await stepgate(args);
    expect(run.status, describe_(args, run)).toBe(0);
    expect(run.stdout).toMatch(/^Elevated: grant [0-9a-f-]{36}$/m);
    expect(run.stdout).toContain('scope    cli:apply on prod/**');
    expect(run.stdout).toContain('subject  alice');

    const check = ['check', ...alice, '--action', 'cli:apply', '--resource', 'prod/billing'];
    const allowed = await stepgate(check);
    expect(allowed.status, describe_(check, allowed)).toBe(0);

    const exec = await stepgate(execArgs());
    expect(exec.status, describe_(execArgs(), exec)).toBe(7);
    expect(existsSync(marker())).toBe(true);
    expect(exec.stderr).toContain('stepgate: allowed cli:apply');
  });

  it('exec forwards SIGTERM to the command and ends the way the command ended', async () => {
    const base = [...alice, '--action', 'cli:apply', '--resource', 'prod/billing', '--'];
    // The command traps SIGTERM and exits 42: stepgate must pass the signal on and exit 42.
    const trapping = start(
      [
        'exec',
        ...base,
        'sh',
        '-c',
        "trap 'kill $!; exit 42' TERM; sleep 30 >/dev/null 2>&1 & echo started; wait",
      ],
      tokens.alice!,
    );
    trapping.child.stdin!.end();
    await waitFor('the command to start', () => trapping.stdout().includes('started'), 20_000);
    trapping.child.kill('SIGTERM');
    const trapped = await trapping.done;
    expect(trapped.status, trapped.stderr).toBe(42);

    // A command killed by a signal: stepgate dies of the same signal.
    const killed = start(['exec', ...base, 'sh', '-c', 'kill -TERM $$'], tokens.alice!);
    killed.child.stdin!.end();
    const gone = await new Promise<NodeJS.Signals | null>((resolve) =>
      killed.child.once('exit', (_code, signal) => resolve(signal)),
    );
    expect(gone).toBe('SIGTERM');
  });

  it('refuses a replayed code in one line', async () => {
    const code = await nextCode();
    const first = await stepgate(['elevate', '--code', code, '--action', 'cli:read']);
    const args = ['elevate', '--code', code, '--action', 'cli:read'];
    const replay = await stepgate(args);
    // The first use may or may not be accepted (it is the same step as the previous test);
    // the second use of one code never is.
    expect([0, 1]).toContain(first.status);
    expect(replay.status, describe_(args, replay)).toBe(1);
    expect(replay.stderr.split('\n')[0]).toMatch(/^error: .+ \(\S+\)$/);
  });
});

describe('approvals', () => {
  const deploy = ['--action', 'cli:deploy', '--resource', 'prod/billing'];

  it('request + approve by another person lets a check --wait started before finish with 0', async () => {
    const before = await stepgate(['check', ...alice, ...deploy]);
    expect(before.status).toBe(3);
    expect(before.stdout).toContain('1 approval');
    expect(before.stdout).toContain(
      "npx stepgate request --action cli:deploy --resource prod/billing --reason '<why>'",
    );

    // As the hint says (the control plane decides the request, with alice's data.people roles,
    // to find how many approvals it needs).
    const requestArgs = ['request', ...deploy, '--reason', 'release 1.2.3'];
    const requested = await stepgate(requestArgs);
    expect(requested.status, describe_(requestArgs, requested)).toBe(0);
    const id = /npx stepgate approve (\S+)/.exec(requested.stdout)?.[1];
    expect(id, requested.stdout).toBeDefined();

    const waiting = start(
      ['check', ...alice, ...deploy, '--wait', '--timeout', '1m'],
      tokens.alice!,
    );
    waiting.child.stdin!.end();
    await waitFor('the countdown', () => waiting.stderr().includes('left'), 20_000);

    const pending = await stepgate(['approve'], tokens.bob);
    expect(pending.status, describe_(['approve'], pending)).toBe(0);
    expect(pending.stdout).toContain(id!);
    expect(pending.stdout).toMatch(/^ID\s+REQUESTER\s+ACTION/);

    const approveArgs = ['approve', id!, '--comment', 'looks fine'];
    const approved = await stepgate(approveArgs, tokens.bob);
    expect(approved.status, describe_(approveArgs, approved)).toBe(0);
    expect(approved.stdout).toContain(`Approval request ${id}: approved`);

    const waited = await waiting.done;
    expect(waited.status, describe_(['check --wait'], waited)).toBe(0);
    expect(waited.stdout).toContain('ALLOW cli:deploy on cli:prod/billing for alice');
    expect(waited.stderr).toContain('waiting for the step-up to be satisfied');
  });

  it('the requester cannot approve their own request', async () => {
    const requested = await stepgate([
      'request',
      '--action',
      'cli:deploy',
      '--resource',
      'prod/self',
      '--reason',
      'mine',
    ]);
    const id = /npx stepgate approve (\S+)/.exec(requested.stdout)![1]!;
    const self = await stepgate(['approve', id], tokens.alice);
    expect(self.status).toBe(1);
    expect(self.stderr.split('\n')[0]).toMatch(/^error: .+ \(\S+\)$/);
  });

  it('deny ends a waiting request --wait with exit 1', async () => {
    const args = [
      'request',
      '--action',
      'cli:deploy',
      '--resource',
      'prod/payments',
      '--reason',
      'risky',
      '--wait',
    ];
    const waiting = start(args, tokens.alice!);
    waiting.child.stdin!.end();
    await waitFor('the request id', () => /approve (\S+)/.test(waiting.stdout()), 20_000);
    const id = /npx stepgate approve (\S+)/.exec(waiting.stdout())![1]!;
    const denied = await stepgate(['deny', id, '--comment', 'not today'], tokens.bob);
    expect(denied.status, describe_(['deny', id], denied)).toBe(0);
    expect(denied.stdout).toContain('denied     by bob: not today');
    const run = await waiting.done;
    expect(run.status, describe_(args, run)).toBe(1);
    expect(run.stdout).toContain('DENIED by bob: not today');
  });
});

describe('grants', () => {
  it('lists the grants and revokes one, after which the step-up is needed again', async () => {
    const list = await stepgate(['grants', '--json']);
    expect(list.status, describe_(['grants'], list)).toBe(0);
    const grants = JSON.parse(list.stdout).grants as {
      id: string;
      actions: string[];
      kind: string;
    }[];
    const apply = grants.find((g) => g.kind === 'elevation' && g.actions.includes('cli:apply'));
    expect(apply, list.stdout).toBeDefined();

    const table = await stepgate(['grants']);
    expect(table.stdout).toMatch(/^ID\s+SUBJECT\s+KIND\s+SCOPE\s+LEVEL\/AMR\s+EXPIRES \(UTC\)$/m);
    expect(table.stdout).toContain(apply!.id);

    const revoke = await stepgate(['grants', 'revoke', apply!.id, '--reason', 'done']);
    expect(revoke.status, describe_(['grants', 'revoke'], revoke)).toBe(0);
    expect(revoke.stdout).toBe(`Revoked grant ${apply!.id}\n`);

    const after = await stepgate(['grants']);
    expect(after.stdout).not.toContain(apply!.id);
    const all = await stepgate(['grants', '--all']);
    expect(all.stdout).toMatch(new RegExp(`${apply!.id}.*revoked`));

    const check = await stepgate([
      'check',
      ...alice,
      '--action',
      'cli:apply',
      '--resource',
      'prod/billing',
    ]);
    expect(check.status, describe_(['check'], check)).toBe(3);
  });

  it('revoking an unknown grant is one clear line and exit 1', async () => {
    const run = await stepgate(['grants', 'revoke', 'not-a-uuid']);
    expect(run.status).toBe(1);
    expect(run.stderr.split('\n')[0]).toMatch(/^error: no grant .* \(grant\/not_found\)$/);
  });
});
