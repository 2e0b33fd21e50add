/**
 * The step-up commands in-process, against a fake fetch that plays the control plane (canned
 * answers per route, in sequence) and a fake clock, so waiting loops run in no time.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { StepUpIo } from '../api/step-up-runner.js';
import {
  approvalSchema,
  checkResponseSchema,
  grantSchema,
  type ApprovalView,
  type CheckResponse,
  type GrantView,
} from '@stepgate/protocol';
import { approveCommand } from './approve-command.js';
import { checkCommand } from './check-command.js';
import { elevateCommand } from './elevate-command.js';
import {
  createEnrolmentCodeCommand,
  enrolmentCodesCommand,
  revokeEnrolmentCodeCommand,
} from './enrolment-codes-command.js';
import { execCommand, type Runner } from './exec-command.js';
import { grantsCommand, revokeGrantCommand } from './grants-command.js';
import { requestCommand } from './request-command.js';

const TOKEN = 'sg_test_0123456789abcdef';
const URL_ = 'http://cp.test:8181';
const STACK_FRAME = /^\s+at .+/m;

interface Seen {
  method: string;
  path: string;
  body: unknown;
}

type Reply = { status: number; body?: unknown } | (() => never);

/** Canned answers per `METHOD /path`; each call takes the next, the last one repeats. */
let routes: Map<string, Reply[]>;
let seen: Seen[];

const fakeFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const method = init?.method ?? 'GET';
  seen.push({
    method,
    path: `${url.pathname}${url.search}`,
    body: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
  });
  const queue = routes.get(`${method} ${url.pathname}`);
  const reply = queue === undefined ? undefined : queue.length > 1 ? queue.shift() : queue[0];
  if (reply === undefined) {
    return new Response(JSON.stringify({ error: 'route/not_found', message: 'no route' }), {
      status: 404,
    });
  }
  if (typeof reply === 'function') reply();
  const { status, body } = reply as { status: number; body?: unknown };
  return new Response(body === undefined ? null : JSON.stringify(body), { status });
};

function reply(route: string, ...replies: Reply[]): void {
  routes.set(route, replies);
}

beforeEach(() => {
  routes = new Map();
  seen = [];
});

interface Captured {
  io: StepUpIo;
  stdout: () => string;
  stderr: () => string;
  now: () => number;
}

function capture(options: { env?: Record<string, string>; lines?: string[] } = {}): Captured {
  let stdout = '';
  let stderr = '';
  let now = Date.parse('2026-11-23T10:00:00Z');
  const lines = [...(options.lines ?? [])];
  return {
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: options.env ?? {},
      fetch: fakeFetch,
      stderrIsTty: false,
      clock: {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      },
      readLine: async (prompt) => {
        stderr += prompt;
        return lines.shift();
      },
    },
    stdout: () => stdout,
    stderr: () => stderr,
    now: () => now,
  };
}

const flags = { url: URL_, token: TOKEN };
const who = { principal: 'alice', action: 'terraform:apply', resource: 'prod/billing' };

// The fixtures are parsed with the protocol's schemas: one that drifts from the contract fails.
const decision = (effect: 'allow' | 'deny' | 'step_up', extra: object = {}): CheckResponse =>
  checkResponseSchema.parse({
    decision: {
      effect,
      reasons:
        effect === 'allow' ? [] : [{ policy: 'tf', rule: 'r', effect, message: `why ${effect}` }],
      revision: 3,
      decisionId: 'd1',
      durationNs: 41_000,
      ...(effect === 'step_up' ? { require: { level: 'mfa', maxAge: 900 } } : {}),
      ...extra,
    },
    levels: ['pwd', 'mfa'],
  });

const ok = (body: unknown) => ({ status: 200, body });

const grant: GrantView = grantSchema.parse({
  id: '11111111-2222-4333-8444-555555555555',
  subject: 'alice',
  kind: 'elevation',
  method: 'totp',
  amr: ['otp'],
  level: 'mfa',
  authTime: '2026-11-23T10:00:00Z',
  approvals: [],
  actions: ['terraform:apply'],
  resources: ['prod/**'],
  resourceKind: null,
  issuedAt: '2026-11-23T10:00:00Z',
  expiresAt: '2026-11-23T10:15:00Z',
  revokedAt: null,
});

const approval = (status: ApprovalView['status'], extra: Partial<ApprovalView> = {}) =>
  approvalSchema.parse({
    id: 'ap-1',
    requester: 'alice',
    action: 'deploy',
    resource: { kind: 'environment', id: 'prod/billing' },
    reason: 'hotfix',
    required: 1,
    status,
    approvals: [],
    deniedBy: null,
    denialComment: null,
    createdAt: '2026-11-23T10:00:00Z',
    expiresAt: '2026-11-23T11:00:00Z',
    closedAt: null,
    grantId: null,
    ...extra,
  });

describe('check', () => {
  it.each([
    ['allow', 0],
    ['deny', 1],
    ['step_up', 3],
  ] as const)('%s exits %i', async (effect, exit) => {
    reply('POST /v1/check', ok(decision(effect)));
    const run = capture();
    expect(await checkCommand({ ...flags, ...who }, run.io)).toBe(exit);
    expect(seen[0]).toEqual({
      method: 'POST',
      path: '/v1/check',
      body: {
        principal: { id: 'alice' },
        action: 'terraform:apply',
        resource: { kind: 'terraform', id: 'prod/billing' },
      },
    });
  });

  it('prints what a step-up needs and how to satisfy it', async () => {
    reply(
      'POST /v1/check',
      ok({ ...decision('step_up'), satisfy: { elevate: 'npx stepgate elevate --action t' } }),
    );
    const run = capture();
    expect(await checkCommand({ ...flags, ...who }, run.io)).toBe(3);
    expect(run.stdout()).toContain('STEP-UP NEEDED terraform:apply on terraform:prod/billing');
    expect(run.stdout()).toContain('level mfa (authenticated within 15m)');
    expect(run.stdout()).toContain('tf/r: why step_up');
    expect(run.stdout()).toContain('  npx stepgate elevate --action t');
  });

  it('prints the answer as JSON with --json', async () => {
    reply('POST /v1/check', ok(decision('deny')));
    const run = capture();
    expect(await checkCommand({ ...flags, ...who, json: true }, run.io)).toBe(1);
    expect(JSON.parse(run.stdout())).toEqual(decision('deny'));
  });

  it('exits 2, not 1, when the control plane refuses or is away', async () => {
    reply('POST /v1/check', { status: 400, body: { error: 'request/invalid', message: 'bad' } });
    const run = capture();
    expect(await checkCommand({ ...flags, ...who }, run.io)).toBe(2);
    expect(run.stderr()).toBe('error: bad (request/invalid)\n');
    reply('POST /v1/check', () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    });
    const away = capture();
    expect(await checkCommand({ ...flags, ...who }, away.io)).toBe(2);
    expect(away.stderr()).toMatch(/^error: cannot reach the control plane at .*ECONNREFUSED/);
    expect(away.stderr()).not.toMatch(STACK_FRAME);
  });

  it('exits 2 on usage errors before calling anything', async () => {
    const run = capture();
    expect(await checkCommand({ ...flags, action: 'a', role: ['deployer'] }, run.io)).toBe(2);
    expect(run.stderr()).toContain('--role is no longer accepted');
    expect(seen).toHaveLength(0);
  });

  it('--wait polls until allowed, with a countdown line every 10 s on a non-terminal', async () => {
    reply(
      'POST /v1/check',
      ok(decision('step_up')),
      ...Array.from({ length: 10 }, () => ok(decision('step_up'))),
      ok(decision('allow')),
    );
    const run = capture();
    const started = run.now();
    expect(await checkCommand({ ...flags, ...who, wait: true, timeout: 600 }, run.io)).toBe(0);
    expect(seen).toHaveLength(12);
    expect(run.now() - started).toBe(22_000);
    expect(run.stdout()).toMatch(/^ALLOW /);
    const lines = run.stderr().trim().split('\n');
    expect(lines[0]).toBe(
      'waiting for the step-up to be satisfied… 10:00 left (needs level mfa (authenticated within 15m))',
    );
    expect(lines).toHaveLength(3);
  });

  it('--wait ends with 1 on a deny and 3 at the timeout', async () => {
    reply('POST /v1/check', ok(decision('step_up')), ok(decision('deny')));
    const denied = capture();
    expect(await checkCommand({ ...flags, ...who, wait: true }, denied.io)).toBe(1);

    reply('POST /v1/check', ok(decision('step_up')));
    const timedOut = capture();
    const started = timedOut.now();
    expect(await checkCommand({ ...flags, ...who, wait: true, timeout: 30 }, timedOut.io)).toBe(3);
    expect(timedOut.now() - started).toBe(30_000);
    expect(timedOut.stderr()).toContain('timed out waiting');
    expect(timedOut.stdout()).toContain('STEP-UP NEEDED');
  });

  it('--wait rides out an unreachable control plane but stops on a refusal', async () => {
    reply(
      'POST /v1/check',
      ok(decision('step_up')),
      { status: 503, body: { error: 'db/unavailable', message: 'database down' } },
      ok(decision('allow')),
    );
    const run = capture();
    expect(await checkCommand({ ...flags, ...who, wait: true }, run.io)).toBe(0);

    reply('POST /v1/check', ok(decision('step_up')), {
      status: 401,
      body: { error: 'auth/invalid_token', message: 'token revoked' },
    });
    const refused = capture();
    expect(await checkCommand({ ...flags, ...who, wait: true }, refused.io)).toBe(2);
    expect(refused.stderr()).toContain('error: token revoked (auth/invalid_token)');
  });
});

describe('exec', () => {
  const runs: (readonly string[])[] = [];
  const runner: Runner = async (command) => {
    runs.push(command);
    return { code: 7 };
  };
  beforeEach(() => {
    runs.length = 0;
  });

  it('runs the command when allowed and passes its outcome on', async () => {
    reply('POST /v1/check', ok(decision('allow')));
    const run = capture();
    const outcome = await execCommand(['terraform', 'apply'], { ...flags, ...who }, run.io, runner);
    expect(outcome).toEqual({ code: 7 });
    expect(runs).toEqual([['terraform', 'apply']]);
    expect(run.stdout()).toBe('');
    expect(run.stderr()).toContain('running terraform apply');
  });

  it.each([
    ['deny', 1],
    ['step_up', 3],
  ] as const)(
    'never runs the command on %s (exit %i) and says why on stderr',
    async (effect, code) => {
      reply('POST /v1/check', ok(decision(effect)));
      const run = capture();
      expect(await execCommand(['make', 'deploy'], { ...flags, ...who }, run.io, runner)).toEqual({
        code,
      });
      expect(runs).toHaveLength(0);
      expect(run.stderr()).toContain(`why ${effect}`);
      expect(run.stderr()).toContain('stepgate: not running make');
      expect(run.stdout()).toBe('');
    },
  );

  it('--request opens an approval request when approvals are missing, then waits', async () => {
    reply(
      'POST /v1/check',
      ok(decision('step_up', { require: { approvals: 1 } })),
      ok(decision('step_up', { require: { approvals: 1 } })),
      ok(decision('allow')),
    );
    reply('POST /v1/approvals', { status: 201, body: approval('pending') });
    const run = capture();
    const outcome = await execCommand(
      ['true'],
      { ...flags, ...who, context: ['ticket=INC-42'], request: 'INC-42 hotfix' },
      run.io,
      runner,
    );
    expect(outcome).toEqual({ code: 7 });
    // Decided by the control plane as the check was: same context, no roles, no count.
    expect(seen.find((s) => s.path === '/v1/approvals')?.body).toEqual({
      action: 'terraform:apply',
      resource: { kind: 'terraform', id: 'prod/billing' },
      reason: 'INC-42 hotfix',
      context: { ticket: 'INC-42' },
    });
    expect(run.stderr()).toContain('npx stepgate approve ap-1');
  });

  it('refuses to run nothing, or --request without a reason', async () => {
    const run = capture();
    expect(await execCommand([], { ...flags, ...who }, run.io, runner)).toEqual({ code: 2 });
    expect(run.stderr()).toContain('put the command after --');
    const blank = capture();
    expect(await execCommand(['x'], { ...flags, ...who, request: ' ' }, blank.io, runner)).toEqual({
      code: 2,
    });
    expect(runs).toHaveLength(0);
    expect(seen).toHaveLength(0);
  });
});

describe('elevate', () => {
  it('sends --code and the scope, and prints the grant', async () => {
    reply('POST /v1/elevation/totp', { status: 201, body: grant });
    const run = capture();
    const exit = await elevateCommand(
      { ...flags, code: '123 456', action: ['terraform:apply'], resource: ['prod/**'], ttl: 900 },
      run.io,
    );
    expect(exit).toBe(0);
    expect(seen[0]!.body).toEqual({
      code: '123456',
      actions: ['terraform:apply'],
      resources: ['prod/**'],
      ttlSeconds: 900,
    });
    expect(run.stdout()).toContain(`Elevated: grant ${grant.id}`);
    expect(run.stdout()).toContain('expires  2026-11-23 10:15:00 UTC');
  });

  it('takes STEPGATE_TOTP_CODE, else asks for a line', async () => {
    reply('POST /v1/elevation/totp', { status: 201, body: grant });
    const fromEnv = capture({ env: { STEPGATE_TOTP_CODE: '111111' } });
    expect(await elevateCommand(flags, fromEnv.io)).toBe(0);
    expect(seen[0]!.body).toEqual({ code: '111111' });

    const typed = capture({ lines: ['222222'] });
    expect(await elevateCommand(flags, typed.io)).toBe(0);
    expect(seen[1]!.body).toEqual({ code: '222222' });
    expect(typed.stderr()).toContain('TOTP code from your authenticator app: ');
  });

  it('explains a missing or malformed code, and a refused one', async () => {
    const none = capture();
    expect(await elevateCommand(flags, none.io)).toBe(2);
    expect(none.stderr()).toContain('--code');
    const bad = capture({ lines: ['12345'] });
    expect(await elevateCommand(flags, bad.io)).toBe(2);
    expect(bad.stderr()).toContain('6 digits');
    expect(seen).toHaveLength(0);

    reply('POST /v1/elevation/totp', {
      status: 401,
      body: { error: 'totp/invalid_code', message: 'the code is wrong or already used' },
    });
    const wrong = capture({ lines: ['999999'] });
    expect(await elevateCommand(flags, wrong.io)).toBe(1);
    expect(wrong.stderr()).toContain(
      'error: the code is wrong or already used (totp/invalid_code)\n',
    );
    expect(wrong.stderr()).not.toContain('hint: check the token');
  });

  const confirmation = { subject: 'alice', confirmed: true, confirmedAt: '2026-11-23T10:00:00Z' };

  it('--enroll --code sends the enrolment code, shows the secret and a QR code, confirms with the first code and grants nothing', async () => {
    const uri = 'otpauth://totp/Stepgate:alice?secret=JBSWY3DPEHPK3PXP&issuer=Stepgate';
    reply('POST /v1/elevation/totp/enroll', {
      status: 201,
      body: { subject: 'alice', secret: 'JBSWY3DPEHPK3PXP', otpauthUri: uri, confirmed: false },
    });
    reply('POST /v1/elevation/totp/confirm', { status: 200, body: confirmation });
    const run = capture({ lines: ['654321'] });
    const code = 'sgenrol_0123456789abcdefghijklmnopqrstuv';
    expect(await elevateCommand({ ...flags, enroll: true, code }, run.io)).toBe(0);
    expect(seen.map((s) => [s.path, s.body])).toEqual([
      ['/v1/elevation/totp/enroll', { enrolmentCode: code }],
      ['/v1/elevation/totp/confirm', { code: '654321' }],
    ]);
    expect(run.stdout()).toContain('secret       JBSWY3DPEHPK3PXP');
    expect(run.stdout()).toContain(`otpauth URI  ${uri}`);
    expect(run.stdout()).toMatch(/[▀▄█]/);
    expect(run.stdout()).toContain('TOTP factor confirmed for alice.');
    expect(run.stdout()).toContain('Enrolling grants nothing by itself');
    expect(run.stdout()).not.toContain('Elevated');
  });

  it('--enroll without a code says how to get one when the control plane asks for it', async () => {
    reply('POST /v1/elevation/totp/enroll', {
      status: 401,
      body: {
        error: 'elevation/enrolment_code_required',
        message:
          'alice has no factor yet, and the first one needs a one-time enrolment code beyond the API token: ask an admin for one (`stepgate enrolment-codes create alice`), then run `stepgate elevate --enroll --code <code>`',
      },
    });
    const run = capture();
    expect(await elevateCommand({ ...flags, enroll: true }, run.io)).toBe(1);
    expect(seen.map((s) => s.body)).toEqual([{}]);
    expect(run.stderr()).toContain('stepgate enrolment-codes create alice');
    expect(run.stderr()).not.toContain('hint: check the token');
  });

  it('--enroll refuses a grant scope: enrolling grants nothing', async () => {
    const run = capture();
    expect(await elevateCommand({ ...flags, enroll: true, action: ['deploy'] }, run.io)).toBe(2);
    expect(run.stderr()).toContain('enrolling grants nothing');
    expect(seen).toHaveLength(0);
  });

  it('--enroll --replace asks for the current factor first', async () => {
    reply('POST /v1/elevation/totp/enroll', {
      status: 200,
      body: {
        subject: 'alice',
        secret: 'S',
        otpauthUri: 'otpauth://totp/x?secret=S',
        confirmed: false,
      },
    });
    reply('POST /v1/elevation/totp/confirm', { status: 200, body: confirmation });
    const run = capture({ lines: ['111111', '222222'] });
    expect(await elevateCommand({ ...flags, enroll: true, replace: true }, run.io)).toBe(0);
    expect(seen.map((s) => [s.path, s.body])).toEqual([
      ['/v1/elevation/totp/enroll', { replace: true, code: '111111' }],
      ['/v1/elevation/totp/confirm', { code: '222222' }],
    ]);
  });
});

describe('enrolment-codes', () => {
  const issued = {
    id: '8d6f1c2e-6f7a-4a55-9a55-2a8f6b1f0c11',
    subject: 'alice',
    createdBy: 'token:bootstrap-admin',
    createdAt: '2026-11-23T10:00:00.000Z',
    expiresAt: '2026-11-24T10:00:00.000Z',
    usedAt: null,
  };

  it('create prints the code once with the command that uses it, and sends the ttl', async () => {
    const code = 'sgenrol_AbCdEfGhIjKlMnOpQrStUvWxYz012345';
    reply('POST /v1/enrolment-codes', { status: 201, body: { ...issued, code } });
    const run = capture();
    expect(await createEnrolmentCodeCommand('alice', { ...flags, ttl: 3600 }, run.io)).toBe(0);
    expect(seen.map((s) => s.body)).toEqual([{ subject: 'alice', ttlSeconds: 3600 }]);
    expect(run.stdout()).toContain(`  ${code}\n`);
    expect(run.stdout()).toContain(`stepgate elevate --enroll --code ${code}`);
    expect(run.stdout()).toContain('2026-11-24 10:00 UTC');
  });

  it('create without step-up says how to get it, and without a subject is a usage error', async () => {
    reply('POST /v1/enrolment-codes', {
      status: 401,
      body: {
        error: 'auth/step_up_required',
        message:
          'stepgate:enrolment-codes:create needs a step-up of bootstrap-admin (level mfa): run `npx stepgate elevate --action stepgate:enrolment-codes:create --resource enrolment-codes/alice`, then retry',
      },
    });
    const refused = capture();
    expect(await createEnrolmentCodeCommand('alice', flags, refused.io)).toBe(1);
    expect(refused.stderr()).toContain(
      'npx stepgate elevate --action stepgate:enrolment-codes:create',
    );
    const usage = capture();
    expect(await createEnrolmentCodeCommand(' ', flags, usage.io)).toBe(2);
    expect(usage.stderr()).toContain('stepgate enrolment-codes create <subject>');
  });

  it('lists codes without the codes themselves, and revokes one', async () => {
    reply('GET /v1/enrolment-codes', { status: 200, body: { codes: [issued] } });
    const list = capture();
    expect(await enrolmentCodesCommand({ ...flags, subject: 'alice', all: true }, list.io)).toBe(0);
    expect(seen[0]?.path).toBe('/v1/enrolment-codes?subject=alice&all=true');
    expect(list.stdout()).toMatch(/ID\s+SUBJECT\s+CREATED BY\s+EXPIRES \(UTC\)\s+USED \(UTC\)/);
    expect(list.stdout()).toContain('token:bootstrap-admin');
    reply('DELETE /v1/enrolment-codes/' + issued.id, { status: 204 });
    const revoke = capture();
    expect(await revokeEnrolmentCodeCommand(issued.id, flags, revoke.io)).toBe(0);
    expect(revoke.stdout()).toContain(`Revoked enrolment code ${issued.id}`);
  });
});

describe('request', () => {
  const create = {
    ...flags,
    action: 'deploy',
    resource: 'environment:prod/billing',
    reason: 'hotfix',
  };

  it('creates the request and prints the approve command', async () => {
    reply('POST /v1/approvals', { status: 201, body: approval('pending') });
    const run = capture();
    expect(await requestCommand({ ...create, ttl: 3600 }, run.io)).toBe(0);
    // No count: the control plane takes it from the active policies.
    expect(seen[0]!.body).toEqual({
      action: 'deploy',
      resource: { kind: 'environment', id: 'prod/billing' },
      reason: 'hotfix',
      ttlSeconds: 3600,
    });
    expect(run.stdout()).toContain('npx stepgate approve ap-1');
  });

  it('sends the context the policies decide the request with; --role is refused', async () => {
    reply('POST /v1/approvals', { status: 201, body: approval('pending') });
    const run = capture();
    expect(await requestCommand({ ...create, context: ['ticket=OPS-42'] }, run.io)).toBe(0);
    expect(seen[0]!.body).toEqual({
      action: 'deploy',
      resource: { kind: 'environment', id: 'prod/billing' },
      reason: 'hotfix',
      context: { ticket: 'OPS-42' },
    });
    const refused = capture();
    expect(await requestCommand({ ...create, role: ['deployer'] }, refused.io)).toBe(2);
    expect(refused.stderr()).toContain('roles and groups come from the policy data');
    expect(seen).toHaveLength(1);
  });

  it('--wait exits 0 once approved and 1 when denied', async () => {
    reply('POST /v1/approvals', { status: 201, body: approval('pending') });
    reply(
      'GET /v1/approvals/ap-1',
      ok(approval('pending')),
      ok(approval('approved', { approvals: [{ approver: 'bob', at: 'x', comment: null }] })),
    );
    const approved = capture();
    expect(await requestCommand({ ...create, wait: true }, approved.io)).toBe(0);
    expect(approved.stdout()).toContain('APPROVED by bob');

    reply(
      'GET /v1/approvals/ap-1',
      ok(approval('denied', { deniedBy: 'carol', denialComment: 'not now' })),
    );
    const denied = capture();
    expect(await requestCommand({ ...create, wait: true }, denied.io)).toBe(1);
    expect(denied.stdout()).toContain('DENIED by carol: not now');
  });

  it('--wait gives up as expired shortly after the request expires', async () => {
    reply('POST /v1/approvals', { status: 201, body: approval('pending') });
    reply('GET /v1/approvals/ap-1', ok(approval('pending')));
    const run = capture();
    expect(await requestCommand({ ...create, wait: true }, run.io)).toBe(1);
    expect(run.stdout()).toContain('EXPIRED with 0/1 approvals');
    expect(run.now()).toBeGreaterThanOrEqual(Date.parse('2026-11-23T11:00:00Z'));
  });

  it('needs a reason', async () => {
    const run = capture();
    expect(await requestCommand({ ...create, reason: '' }, run.io)).toBe(2);
    expect(run.stderr()).toContain('--reason');
  });
});

describe('approve, deny, grants', () => {
  it('lists pending requests without an id', async () => {
    reply('GET /v1/approvals', ok({ approvals: [approval('pending')] }));
    const run = capture();
    expect(await approveCommand('approve', undefined, flags, run.io)).toBe(0);
    expect(seen[0]!.path).toBe('/v1/approvals?status=pending');
    expect(run.stdout()).toMatch(/^ID\s+REQUESTER/);
    expect(run.stdout()).toContain('ap-1');
  });

  it('approves and denies with a comment', async () => {
    reply('POST /v1/approvals/ap-1/approve', ok(approval('approved')));
    reply('POST /v1/approvals/ap-1/deny', ok(approval('denied', { deniedBy: 'bob' })));
    const run = capture();
    expect(await approveCommand('approve', 'ap-1', { ...flags, comment: 'lgtm' }, run.io)).toBe(0);
    expect(await approveCommand('deny', 'ap-1', flags, run.io)).toBe(0);
    expect(seen.map((s) => [s.path, s.body])).toEqual([
      ['/v1/approvals/ap-1/approve', { comment: 'lgtm' }],
      ['/v1/approvals/ap-1/deny', {}],
    ]);
  });

  it('lists grants and revokes one (204)', async () => {
    reply('GET /v1/grants', ok({ grants: [grant] }));
    reply(`DELETE /v1/grants/${grant.id}`, { status: 204 });
    const run = capture();
    expect(await grantsCommand({ ...flags, subject: 'alice', all: true }, run.io)).toBe(0);
    expect(seen[0]!.path).toBe('/v1/grants?subject=alice&all=true');
    expect(run.stdout()).toContain(grant.id);
    expect(await revokeGrantCommand(grant.id, { ...flags, reason: 'done' }, run.io)).toBe(0);
    expect(seen[1]).toEqual({
      method: 'DELETE',
      path: `/v1/grants/${grant.id}`,
      body: { reason: 'done' },
    });
    expect(run.stdout()).toContain(`Revoked grant ${grant.id}`);
  });
});
