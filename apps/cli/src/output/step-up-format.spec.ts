import { describe, expect, it } from 'vitest';
import {
  approvalSchema,
  checkResponseSchema,
  grantSchema,
  type ApprovalView,
  type CheckBody,
  type CheckResponse,
  type GrantView,
} from '@stepgate/protocol';
import { createCountdown, formatClock } from './progress.js';
import {
  describeRequirement,
  formatApproval,
  formatApprovalTable,
  formatCheck,
  formatGrant,
  formatGrantTable,
  satisfyCommands,
  shellQuote,
} from './step-up-format.js';

const input: CheckBody = {
  principal: { id: 'alice' },
  action: 'terraform:apply',
  resource: { kind: 'terraform', id: 'prod/billing' },
};

// Answers are parsed with the protocol's schemas: a fixture that drifts from the contract fails.
const stepUp = (satisfy?: CheckResponse['satisfy']): CheckResponse =>
  checkResponseSchema.parse({
    decision: {
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 900, approvals: 1 },
      reasons: [
        { policy: 'p', rule: 'fresh', effect: 'step_up', message: 'Needs MFA.' },
        { policy: 'p', rule: 'allowed', effect: 'allow' },
      ],
      revision: 4,
      decisionId: 'd4',
      durationNs: 52_000,
    },
    levels: ['pwd', 'mfa'],
    ...(satisfy === undefined ? {} : { satisfy }),
  });

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

const approval: ApprovalView = approvalSchema.parse({
  id: 'a1',
  requester: 'alice',
  action: 'deploy',
  resource: { kind: 'environment', id: 'prod/billing' },
  reason: 'hotfix',
  required: 2,
  status: 'pending',
  approvals: [{ approver: 'bob', at: '2026-11-23T10:01:00Z', comment: 'ok' }],
  deniedBy: null,
  denialComment: null,
  createdAt: '2026-11-23T10:00:00Z',
  expiresAt: '2026-11-23T11:00:00Z',
  closedAt: null,
  grantId: null,
});

describe('check output', () => {
  it('describes requirements', () => {
    expect(describeRequirement({ level: 'mfa', maxAge: 900, approvals: 1 })).toBe(
      'level mfa (authenticated within 15m), 1 approval',
    );
    expect(describeRequirement({ maxAge: 300 })).toBe(
      'fresh authentication (authenticated within 5m)',
    );
    expect(describeRequirement({ approvals: 2 })).toBe('2 approvals');
    expect(describeRequirement(undefined)).toBe('stronger authentication');
  });

  it('names what is missing when part of the complete requirement is met', () => {
    const require = { level: 'mfa', maxAge: 900, approvals: 1 };
    expect(describeRequirement(require, ['maxAge'])).toBe(
      'level mfa (authenticated within 15m), 1 approval; missing: fresh authentication',
    );
    expect(describeRequirement(require, ['level', 'maxAge', 'approvals'])).toBe(
      'level mfa (authenticated within 15m), 1 approval',
    );
  });

  it('builds only the commands for the unmet parts of a complete requirement', () => {
    const staleLogin = stepUp();
    staleLogin.decision.unmet = ['maxAge'];
    expect(satisfyCommands(staleLogin, input)).toEqual([
      'npx stepgate elevate --action terraform:apply --resource prod/billing',
    ]);
    const approvalOnly = stepUp();
    approvalOnly.decision.unmet = ['approvals'];
    expect(satisfyCommands(approvalOnly, input)).toEqual([
      "npx stepgate request --action terraform:apply --resource terraform:prod/billing --reason '<why>'",
    ]);
    expect(formatCheck(approvalOnly, input).split('\n')[0]).toBe(
      'STEP-UP NEEDED terraform:apply on terraform:prod/billing for alice: level mfa (authenticated within 15m), 1 approval; missing: approvals',
    );
  });

  it('prints the step-up gap, its reasons and the satisfy commands from the control plane', () => {
    const text = formatCheck(
      stepUp({ elevate: 'npx stepgate elevate --action x', request: 'npx stepgate request y' }),
      input,
    );
    expect(text.split('\n')).toEqual([
      'STEP-UP NEEDED terraform:apply on terraform:prod/billing for alice: level mfa (authenticated within 15m), 1 approval',
      '  p/fresh: Needs MFA.',
      'To satisfy it:',
      '  npx stepgate elevate --action x',
      '  npx stepgate request y',
    ]);
  });

  it('builds satisfy commands itself when the control plane sends none', () => {
    expect(satisfyCommands(stepUp(), input)).toEqual([
      'npx stepgate elevate --action terraform:apply --resource prod/billing',
      "npx stepgate request --action terraform:apply --resource terraform:prod/billing --reason '<why>'",
    ]);
    const approvalsOnly = stepUp();
    approvalsOnly.decision.require = { approvals: 2 };
    // The control plane takes the count and the roles from its own decision and the policy
    // data: the request names neither (`request` has no --approvals, --role or --group).
    expect(satisfyCommands(approvalsOnly, input)).toEqual([
      "npx stepgate request --action terraform:apply --resource terraform:prod/billing --reason '<why>'",
    ]);
  });

  it('prints allow in one line and deny with its reasons', () => {
    const answer = (decision: object): CheckResponse =>
      checkResponseSchema.parse({
        decision: { revision: 2, decisionId: 'd2', durationNs: 30_000, ...decision },
        levels: [],
      });
    const allow = answer({ effect: 'allow', reasons: [] });
    expect(formatCheck(allow, input)).toBe(
      'ALLOW terraform:apply on terraform:prod/billing for alice (revision 2)',
    );
    const deny = answer({
      effect: 'deny',
      reasons: [{ policy: 'p', rule: 'freeze', effect: 'deny', message: 'Frozen.' }],
    });
    expect(formatCheck(deny, input).split('\n')).toEqual([
      'DENY terraform:apply on terraform:prod/billing for alice (revision 2)',
      '  p/freeze: Frozen.',
    ]);
    deny.decision.reasons = [];
    expect(formatCheck(deny, input)).toContain('no policy allows it (default deny)');
  });

  it('neutralises escape sequences coming from the server', () => {
    const result = stepUp({ elevate: 'npx stepgate elevate \u001b[2J' });
    expect(formatCheck(result, input)).not.toContain('\u001b');
  });

  it('quotes shell arguments only when needed', () => {
    expect(shellQuote('prod/billing')).toBe('prod/billing');
    expect(shellQuote("it's here")).toBe("'it'\\''s here'");
    expect(shellQuote('prod/**')).toBe("'prod/**'");
  });
});

describe('grants and approvals', () => {
  it('tables grants with scope, strength and expiry state', () => {
    const now = Date.parse('2026-11-23T10:05:00Z');
    const lines = formatGrantTable(
      [
        grant,
        { ...grant, id: 'g2', revokedAt: '2026-11-23T10:02:00Z' },
        {
          ...grant,
          id: 'g3',
          kind: 'approval',
          method: 'approval',
          amr: [],
          level: null,
          approvals: ['bob'],
          expiresAt: '2026-11-23T10:01:00Z',
        },
      ],
      now,
    ).split('\n');
    expect(lines[0]).toMatch(/^ID\s+SUBJECT\s+KIND\s+SCOPE\s+LEVEL\/AMR\s+EXPIRES \(UTC\)$/);
    expect(lines[1]).toContain('terraform:apply on prod/**');
    expect(lines[1]).toContain('mfa (amr otp)');
    expect(lines[1]).toMatch(/2026-11-23 10:15$/);
    expect(lines[2]).toMatch(/revoked 2026-11-23 10:02$/);
    expect(lines[3]).toContain('approved by bob');
    expect(lines[3]).toMatch(/expired 2026-11-23 10:01$/);
  });

  it('prints a new grant', () => {
    expect(formatGrant(grant)).toBe(
      [
        'Elevated: grant 11111111-2222-4333-8444-555555555555',
        '  subject  alice',
        '  proof    mfa (amr otp)',
        '  scope    terraform:apply on prod/**',
        '  expires  2026-11-23 10:15:00 UTC',
      ].join('\n'),
    );
  });

  it('prints approval requests', () => {
    expect(formatApproval(approval)).toContain('Approval request a1: pending (1/2 approvals)');
    expect(formatApproval(approval)).toContain('approved   by bob: ok');
    const denied = {
      ...approval,
      status: 'denied' as const,
      deniedBy: 'carol',
      denialComment: 'no',
    };
    expect(formatApproval(denied)).toContain('denied     by carol: no');
    const table = formatApprovalTable([approval]).split('\n');
    expect(table[0]).toMatch(
      /^ID\s+REQUESTER\s+ACTION\s+RESOURCE\s+APPROVALS\s+EXPIRES \(UTC\)\s+REASON$/,
    );
    expect(table[1]).toMatch(
      /^a1\s+alice\s+deploy\s+environment:prod\/billing\s+1\/2\s+2026-11-23 11:00\s+hotfix$/,
    );
  });
});

describe('countdown', () => {
  it('formats what is left as m:ss or h:mm:ss', () => {
    expect(formatClock(61_000)).toBe('1:01');
    expect(formatClock(3_600_000 + 5_000)).toBe('1:00:05');
    expect(formatClock(-5)).toBe('0:00');
  });

  it('redraws one line on a terminal and clears it', () => {
    let out = '';
    const countdown = createCountdown(
      { write: (t: string) => (out += t) },
      true,
      'waiting',
      10_000,
    );
    countdown.tick(0);
    countdown.tick(1_000, 'needs mfa');
    countdown.clear();
    expect(out).toBe(
      '\r\u001b[2Kwaiting 0:10 left\r\u001b[2Kwaiting 0:09 left (needs mfa)\r\u001b[2K',
    );
  });

  it('prints a plain line every 10 s elsewhere', () => {
    let out = '';
    const countdown = createCountdown(
      { write: (t: string) => (out += t) },
      false,
      'waiting',
      60_000,
    );
    for (let t = 0; t <= 25_000; t += 1_000) countdown.tick(t);
    countdown.clear();
    expect(out.split('\n')).toEqual([
      'waiting 1:00 left',
      'waiting 0:50 left',
      'waiting 0:40 left',
      '',
    ]);
  });
});
