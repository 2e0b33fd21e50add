/**
 * Approval requests on the real control plane (own Postgres database, Redis prefix): every
 * rule that refuses a decision — self-approval, approving twice, acting on an expired or
 * denied request, approving without the approver scope — answers with a clear error AND
 * leaves an audit event; two approvers at the same instant issue one grant; the periodic
 * sweep expires requests nobody touches.
 *
 * Issue 10's approval findings, each an attack that passed before: the number of approvals
 * comes from the active policies, never the requester; subjects differing only by case are one
 * approver (and never the requester); an approval grant counts for the approved resource's
 * kind only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';
import { api, ensureControlPlaneBuilt, tempDirs, waitFor } from './support.js';

/** How many approvals `it:deploy` needs, by resource id (and a deny, a factor-only step-up). */
const POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: it-approvals',
  'description: Deploys to prod need approvers; staging needs MFA; one id is frozen.',
  'target:',
  '  actions: ["it:deploy"]',
  'rules:',
  '  - name: frozen',
  '    effect: deny',
  '    when: resource.id == "prod/frozen"',
  '    message: Frozen until further notice.',
  '  - name: staging-mfa',
  '    effect: step_up',
  '    when: resource.id.startsWith("staging/")',
  '    require: { level: mfa }',
  '  - name: one-approver',
  '    effect: step_up',
  '    when: resource.id.startsWith("prod/")',
  '    require: { approvals: 1 }',
  '  - name: two-approvers',
  '    effect: step_up',
  '    when: resource.id.startsWith("prod/two-")',
  '    require: { approvals: 2 }',
  '  - name: forced-two-approvers',
  '    effect: step_up',
  '    when: resource.id.startsWith("prod/") && has(actionAttributes.force) && actionAttributes.force',
  '    require: { approvals: 2 }',
  // Reads the example settings' failed_logins signal (posted events, not the request).
  '  - name: risky-requester',
  '    effect: step_up',
  '    when: resource.id.startsWith("prod/") && signals.failed_logins >= 3',
  '    require: { approvals: 2 }',
  '  - name: deployers',
  '    effect: allow',
  '    when: \'"deployer" in principal.roles\'',
  '',
].join('\n');

const temp = tempDirs();

let cp: ControlPlaneProcess;
const tokens: Record<string, string> = {};

async function token(name: string, scopes: string[], subject: string): Promise<string> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name,
    scopes,
    subject,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.token as string;
}

/** alice (a deployer in data.people) asks to deploy to `resourceId`; the body, without the call. */
function asked(resourceId: string, extra: Record<string, unknown> = {}) {
  return {
    action: 'it:deploy',
    resource: { kind: 'environment', id: resourceId },
    reason: `change to ${resourceId}`,
    ...extra,
  };
}

function ask(body: Record<string, unknown>, as = tokens.alice) {
  return api(cp.url, as, 'POST', '/v1/approvals', body);
}

async function request(
  resourceId: string,
  extra: Record<string, unknown> = {},
  as = tokens.alice,
): Promise<string> {
  const created = await ask(asked(resourceId, extra), as);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

function decide(who: string, id: string, act: 'approve' | 'deny', comment?: string) {
  return api(cp.url, tokens[who], 'POST', `/v1/approvals/${id}/${act}`, comment ? { comment } : {});
}

interface AuditEvent {
  actor: string;
  action: string;
  target: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
}

async function auditFor(id: string, action: string): Promise<AuditEvent[]> {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/audit?action=${action}&limit=500`);
  expect(response.status).toBe(200);
  return (response.body.events as AuditEvent[]).filter((e) => e.target === `approval:${id}`);
}

/** Moves a request's expiry into the past, as if its time had run out. */
async function expireInDatabase(id: string): Promise<void> {
  const client = new pg.Client({ connectionString: cp.databaseUrl });
  await client.connect();
  try {
    const result = await client.query(
      `UPDATE approval_request SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    expect(result.rowCount).toBe(1);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  // A short sweep period so the sweep itself is observable within the suite.
  cp = await startControlPlane({ STEPGATE_APPROVAL_SWEEP_INTERVAL: '2s' });
  const work = temp.make('approvals');
  await cloneEmbedded(cp, work);
  // Roles come from the policy data: dave is a deployer too (the risk-signal case).
  const people = `${readFileSync(join(work, 'data/people.yaml'), 'utf8').trimEnd()}\ndave: { roles: [deployer] }\n`;
  await pushPolicies(
    cp,
    work,
    { 'it/approvals.yaml': POLICY, 'data/people.yaml': people },
    'Approval policies',
  );
  tokens.alice = await token('alice-laptop', ['viewer'], 'alice');
  tokens.bob = await token('bob-approver', ['approver'], 'bob');
  tokens.carol = await token('carol-approver', ['approver'], 'carol');
  tokens.vic = await token('vic-viewer', ['viewer'], 'vic');
  tokens.ops = await token('ops', ['operator'], 'olga');
}, 120_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

describe('creating and reading requests', () => {
  it('creates a pending request for the token subject with the defaults, audited', async () => {
    const before = Date.now();
    const id = await request('prod/create');
    const got = await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      requester: 'alice',
      action: 'it:deploy',
      resource: { kind: 'environment', id: 'prod/create' },
      required: 1,
      status: 'pending',
      approvals: [],
      grantId: null,
    });
    // Default STEPGATE_APPROVAL_TTL: one hour.
    const ttl = Date.parse(got.body.expiresAt) - before;
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThan(3610_000);
    const [event] = await auditFor(id, 'approval.request');
    expect(event).toMatchObject({ actor: 'token:alice-laptop', reason: 'change to prod/create' });
    expect(event!.details).toMatchObject({
      required: 1,
      policies: { reasons: ['it-approvals/one-approver'] },
    });
  });

  it('refuses glob characters, unknown fields and bad sizes with a 400 naming the field', async () => {
    const glob = await ask(asked('prod/*', { reason: 'everything' }));
    expect(glob.status).toBe(400);
    expect(glob.body.error).toBe('request/invalid');
    expect(glob.body.message).toContain('resource.id');
    const unknown = await ask(asked('prod/x', { approver: 'alice' }));
    expect(unknown.status).toBe(400);
    const tooMany = await ask(asked('prod/x', { approvals: 101 }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain('approvals');
  });

  it('answers 404 for an unknown request', async () => {
    const missing = await api(cp.url, tokens.vic, 'GET', '/v1/approvals/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('approval/not_found');
    const approve = await decide('bob', '00000000-0000-4000-8000-000000000000', 'approve');
    expect(approve.status).toBe(404);
    expect(approve.body.error).toBe('approval/not_found');
  });
});

describe('refusals are errors and audit events', () => {
  it('never lets the requester approve or deny their own request', async () => {
    // Alice is an approver too here, so only the self rule can refuse her.
    const aliceApprover = await token('alice-approver', ['approver'], 'alice');
    tokens.aliceApprover = aliceApprover;
    const id = await request('prod/self');
    for (const act of ['approve', 'deny'] as const) {
      const response = await decide('aliceApprover', id, act);
      expect(response.status).toBe(403);
      expect(response.body.error).toBe('approval/forbidden');
      expect(response.body.message).toMatch(/own request/);
    }
    const refused = await auditFor(id, 'approval.refused');
    expect(refused).toHaveLength(2);
    expect(refused.every((e) => e.details?.why === 'own_request')).toBe(true);
    expect((await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.status).toBe(
      'pending',
    );
  });

  it('refuses the same approver twice with a 409', async () => {
    const id = await request('prod/two-twice');
    expect((await decide('bob', id, 'approve')).status).toBe(200);
    const again = await decide('bob', id, 'approve');
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('approval/conflict');
    const [refused] = await auditFor(id, 'approval.refused');
    expect(refused).toMatchObject({ actor: 'token:bob-approver' });
    expect(refused!.details).toMatchObject({ act: 'approve', why: 'already_approved' });
    const view = (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body;
    expect(view).toMatchObject({ status: 'pending', grantId: null });
    expect(view.approvals).toHaveLength(1);
  });

  it('refuses an approver without the approver scope (403), audited', async () => {
    const id = await request('prod/viewer');
    const response = await decide('vic', id, 'approve');
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('approval/forbidden');
    expect(response.body.message).toMatch(/approver/);
    const [refused] = await auditFor(id, 'approval.refused');
    expect(refused).toMatchObject({ actor: 'token:vic-viewer' });
    expect(refused!.details).toMatchObject({ why: 'not_approver' });
  });

  it('refuses acting on an expired request, marking it expired once', async () => {
    const id = await request('prod/expired');
    await expireInDatabase(id);
    for (const who of ['bob', 'carol']) {
      const response = await decide(who, id, 'approve');
      expect(response.status).toBe(409);
      expect(response.body.error).toBe('approval/closed');
      expect(response.body.message).toMatch(/expired/);
    }
    expect((await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.status).toBe(
      'expired',
    );
    // Marked expired exactly once, by whoever got there first (this touch or the sweep).
    expect(await auditFor(id, 'approval.expire')).toHaveLength(1);
    const refused = await auditFor(id, 'approval.refused');
    expect(refused).toHaveLength(2);
    expect(refused.every((e) => e.details?.why === 'expired')).toBe(true);
    expect((await api(cp.url, tokens.alice, 'GET', '/v1/grants')).body.grants).toEqual([]);
  });

  it('closes a request on one denial; approving it afterwards is refused', async () => {
    const id = await request('prod/two-denied');
    expect((await decide('bob', id, 'approve')).status).toBe(200);
    const denied = await decide('carol', id, 'deny', 'not during the freeze');
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({
      status: 'denied',
      deniedBy: 'carol',
      denialComment: 'not during the freeze',
      grantId: null,
    });
    expect(denied.body.closedAt).not.toBeNull();
    const late = await decide('vic', id, 'approve');
    expect(late.status).toBe(403); // no approver scope is refused before anything else
    const after = await decide('bob', id, 'deny');
    expect(after.status).toBe(409);
    expect(after.body.error).toBe('approval/closed');
    const [deny] = await auditFor(id, 'approval.deny');
    expect(deny).toMatchObject({ actor: 'token:carol-approver', reason: 'not during the freeze' });
    const refused = await auditFor(id, 'approval.refused');
    expect(refused.map((e) => e.details?.why).sort()).toEqual(['closed', 'not_approver']);
    const listed = await api(
      cp.url,
      tokens.vic,
      'GET',
      '/v1/approvals?status=denied&requester=alice',
    );
    expect(listed.body.approvals.map((a: { id: string }) => a.id)).toContain(id);
  });
});

describe('grants and races', () => {
  it('issues exactly one grant when two approvers approve at the same instant', async () => {
    for (let round = 0; round < 3; round++) {
      const resource = `prod/race-${round}`;
      const id = await request(resource);
      const results = await Promise.all([
        decide('bob', id, 'approve'),
        decide('carol', id, 'approve'),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body.error).toBe('approval/closed');
      const view = (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body;
      expect(view.status).toBe('approved');
      expect(view.approvals).toHaveLength(1);
      const grants = (await api(cp.url, tokens.ops, 'GET', '/v1/grants?subject=alice&all=true'))
        .body.grants as { id: string; resources: string[]; approvals: string[] }[];
      const forResource = grants.filter((g) => g.resources[0] === resource);
      expect(forResource).toHaveLength(1);
      expect(forResource[0]!.id).toBe(view.grantId);
      expect(forResource[0]!.approvals).toEqual([view.approvals[0].approver]);
      expect(await auditFor(id, 'approval.grant')).toHaveLength(1);
    }
  });

  it('expires requests nobody touches through the periodic sweep', async () => {
    const id = await request('prod/sweep');
    await expireInDatabase(id);
    // Only the audit is read here: nothing touches the request itself.
    await waitFor(
      'the sweep to expire the request',
      async () => (await auditFor(id, 'approval.expire')).length === 1,
      10_000,
      200,
    );
    const [event] = await auditFor(id, 'approval.expire');
    expect(event!.actor).toBe('system:approval-expiry');
    expect((await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.status).toBe(
      'expired',
    );
  });
});

describe('the number of approvals comes from the active policies (issue 10)', () => {
  it('takes it from the step-up the policies ask for; a different count from the requester is a 400', async () => {
    // The attack: ask for fewer approvals than the policies require.
    const fewer = await ask(asked('prod/two-fewer', { approvals: 1 }));
    expect(fewer.status, JSON.stringify(fewer.body)).toBe(400);
    expect(fewer.body.error).toBe('request/invalid');
    expect(fewer.body.message).toContain(
      'approvals: the active policies require 2 approvals for "it:deploy" on environment "prod/two-fewer" for "alice", not 1',
    );
    expect(fewer.body.details).toMatchObject({ why: 'approvals_mismatch', required: 2 });
    // Without a count, or with the right one, the policies' number is used.
    for (const extra of [{}, { approvals: 2 }]) {
      const id = await request('prod/two-count', extra);
      expect((await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.required).toBe(2);
    }
  });

  it('decides with the actionAttributes the requester sends, as /v1/check does', async () => {
    const required = async (id: string) =>
      (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.required;
    const forced = await request('prod/forced', { actionAttributes: { force: true } });
    expect(await required(forced)).toBe(2);
    const gentle = await request('prod/gentle', { actionAttributes: { force: false } });
    expect(await required(gentle)).toBe(1);
  });

  it("counts the requester's risk signals, as agents and /v1/check do", async () => {
    tokens.dave ??= await token('dave-laptop', ['viewer'], 'dave');
    const required = async (id: string) =>
      (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body.required;
    const calm = await request('prod/calm', {}, tokens.dave);
    expect(await required(calm)).toBe(1);
    for (let i = 0; i < 3; i++) {
      const posted = await api(cp.url, cp.adminToken, 'POST', '/v1/events', {
        type: 'login_failed',
        subject: 'dave',
      });
      expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    }
    const risky = await request('prod/risky', {}, tokens.dave);
    expect(await required(risky)).toBe(2);
  });

  it('refuses what the policies allow anyway (400), deny (403) or want a factor for (400)', async () => {
    const allowed = await ask(asked('dev/api'));
    expect(allowed.status).toBe(400);
    expect(allowed.body.message).toContain('without approvals; there is nothing to approve');
    expect(allowed.body.details).toMatchObject({ why: 'not_required' });

    const frozen = await ask(asked('prod/frozen'));
    expect(frozen.status).toBe(403);
    expect(frozen.body.error).toBe('approval/forbidden');
    expect(frozen.body.message).toContain('it-approvals/frozen: Frozen until further notice.');
    // vic is not a deployer in data.people: the policies deny it by default, and approvals
    // cannot change that; nor can vic claim the role in the body.
    const stranger = await ask(asked('prod/no-role'), tokens.vic);
    expect(stranger.status).toBe(403);
    expect(stranger.body.message).toContain('approvals cannot lift a deny');
    const claimed = await ask(
      asked('prod/no-role', { principal: { roles: ['deployer'] } }),
      tokens.vic,
    );
    expect(claimed.status).toBe(400);
    expect(claimed.body.message).toContain('data.people');

    const factor = await ask(asked('staging/api'));
    expect(factor.status).toBe(400);
    expect(factor.body.message).toContain('(level mfa), not approvals');
    expect(factor.body.details).toMatchObject({ why: 'no_approvals_required' });

    const mine = (await api(cp.url, tokens.vic, 'GET', '/v1/approvals?requester=alice&limit=500'))
      .body.approvals as { resource: { id: string } }[];
    for (const id of ['dev/api', 'prod/frozen', 'prod/no-role', 'staging/api', 'prod/two-fewer'])
      expect(mine.map((a) => a.resource.id)).not.toContain(id);
  });
});

describe('approver subjects differing only by case are one approver (issue 10)', () => {
  it('refuses BOB after bob and ALICE on alice’s request; two people are still needed', async () => {
    tokens.bobShouting = await token('bob-shouting', ['approver'], 'BOB');
    tokens.aliceUpper = await token('alice-upper', ['approver'], 'ALICE');
    const id = await request('prod/two-case');
    expect((await decide('bob', id, 'approve')).status).toBe(200);
    // The attack: the same person again under another case counts as a second approver.
    const again = await decide('bobShouting', id, 'approve');
    expect(again.status, JSON.stringify(again.body)).toBe(409);
    expect(again.body.error).toBe('approval/conflict');
    expect(again.body.message).toContain('compared without case');
    const own = await decide('aliceUpper', id, 'approve');
    expect(own.status).toBe(403);
    expect(own.body.message).toMatch(/own request/);
    let view = (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body;
    expect(view).toMatchObject({ status: 'pending', grantId: null });
    expect(view.approvals).toHaveLength(1);

    expect((await decide('carol', id, 'approve')).status).toBe(200);
    view = (await api(cp.url, tokens.vic, 'GET', `/v1/approvals/${id}`)).body;
    expect(view.status).toBe('approved');
    const grants = (await api(cp.url, tokens.alice, 'GET', '/v1/grants')).body.grants as {
      id: string;
      approvals: string[];
    }[];
    expect(grants.find((g) => g.id === view.grantId)?.approvals).toEqual(['bob', 'carol']);
  });
});

describe('an approval grant is for the approved resource kind only (issue 10)', () => {
  it('POST /v1/check honours it for that kind, not for another kind with the same id', async () => {
    const id = await request('prod/kinds');
    const approved = await decide('bob', id, 'approve');
    expect(approved.body.status).toBe('approved');
    const grant = (await api(cp.url, tokens.alice, 'GET', '/v1/grants')).body.grants.find(
      (g: { id: string }) => g.id === approved.body.grantId,
    );
    expect(grant).toMatchObject({
      actions: ['it:deploy'],
      resources: ['prod/kinds'],
      resourceKind: 'environment',
    });
    const check = (kind: string) =>
      api(cp.url, tokens.alice, 'POST', '/v1/check', {
        action: 'it:deploy',
        resource: { kind, id: 'prod/kinds' },
      });
    expect((await check('environment')).body.decision.effect).toBe('allow');
    // The attack: the same approval used for another kind of resource with the same id.
    const other = await check('database');
    expect(other.body.decision, JSON.stringify(other.body)).toMatchObject({
      effect: 'step_up',
      require: { approvals: 1 },
    });
  });
});

describe('documentation', () => {
  it('/docs describes the grant and approval routes with their bodies', async () => {
    const docs = await api(cp.url, undefined, 'GET', '/docs');
    expect(docs.status).toBe(200);
    const paths = docs.body.paths as Record<string, Record<string, any>>;
    for (const [path, method] of [
      ['/v1/grants', 'get'],
      ['/v1/grants/{id}', 'delete'],
      ['/v1/approvals', 'post'],
      ['/v1/approvals', 'get'],
      ['/v1/approvals/{id}', 'get'],
      ['/v1/approvals/{id}/approve', 'post'],
      ['/v1/approvals/{id}/deny', 'post'],
    ] as const)
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const create = JSON.stringify(paths['/v1/approvals']!.post.requestBody);
    expect(create).toContain('resource');
    expect(create).toContain('ttlSeconds');
  });
});
