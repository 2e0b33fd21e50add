/**
 * `POST /v1/check`: the control plane decides with the active policies and the principal's
 * grants exactly as an agent would, and says how to meet an unmet step-up. Real control
 * plane; policies pushed to its embedded repository; grants from the real TOTP and approval
 * routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, ensureControlPlaneBuilt, tempDirs } from './support.js';
import { cloneEmbedded, elevateWithTotp, pushPolicies } from './step-up-support.js';

const DEPLOYS = {
  'it/check-deploys.yaml': [
    'apiVersion: stepgate/v1',
    'kind: Policy',
    'name: it-deploys',
    'description: Deployers deploy; prod needs fresh MFA, the prod database an approval too.',
    'target:',
    '  actions: ["it:deploy"]',
    'rules:',
    '  - name: frozen',
    '    effect: deny',
    '    when: resource.id == "frozen"',
    '    message: This one is frozen.',
    '  - name: no-forced-deploys',
    '    effect: deny',
    '    when: has(actionAttributes.force) && actionAttributes.force == true',
    '    message: Forced deploys are refused.',
    '  - name: vault-mfa-only',
    '    effect: deny',
    '    when: resource.id == "vault" && auth.level != "mfa"',
    '    message: The vault refuses anything but MFA.',
    '  - name: prod-mfa',
    '    effect: step_up',
    '    when: resource.id.startsWith("prod/")',
    '    require: { level: mfa, maxAge: 10m }',
    '  - name: prod-db-approval',
    '    effect: step_up',
    '    when: resource.id == "prod/db"',
    '    require: { approvals: 1 }',
    '  - name: deployers',
    '    effect: allow',
    '    when: \'"deployer" in principal.roles\'',
    '',
  ].join('\n'),
};

const temp = tempDirs();
let cp: ControlPlaneProcess;
let alice: string;
let bob: string;
let carol: string;
let mallory: string;

async function token(name: string, scopes: string[], subject: string): Promise<string> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name,
    scopes,
    subject,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.token as string;
}

/** The principal is the token's subject; roles come from data.people (alice, carol: deployer). */
const deploy = (resource: string) => ({
  action: 'it:deploy',
  resource: { kind: 'environment', id: resource },
});

async function check(body: unknown, as = alice) {
  return api(cp.url, as, 'POST', '/v1/check', body);
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  const work = temp.make('step-up-check');
  await cloneEmbedded(cp, work);
  await pushPolicies(cp, work, DEPLOYS, 'Deploy policies');
  alice = await token('alice-laptop', ['viewer'], 'alice');
  bob = await token('bob-laptop', ['approver'], 'bob');
  carol = await token('carol-laptop', ['viewer'], 'carol');
  mallory = await token('mallory-laptop', ['viewer'], 'mallory');
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

describe('POST /v1/check', () => {
  it('allows what the policies allow, with the levels and no satisfy', async () => {
    const response = await check(deploy('staging/api'));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.decision).toMatchObject({
      effect: 'allow',
      reasons: [{ policy: 'it-deploys', rule: 'deployers', effect: 'allow' }],
    });
    expect(response.body.decision.revision).toBeGreaterThan(0);
    expect(response.body.levels).toEqual(['pwd', 'mfa', 'phishing_resistant']);
    expect(response.body.satisfy).toBeUndefined();
  });

  it('denies by rule and by default, never with satisfy', async () => {
    const frozen = await check(deploy('frozen'));
    expect(frozen.body.decision).toMatchObject({
      effect: 'deny',
      reasons: [{ rule: 'frozen', message: 'This one is frozen.' }],
    });
    expect(frozen.body.satisfy).toBeUndefined();
    const stranger = await check(deploy('prod/api'), mallory);
    expect(stranger.body.decision.effect).toBe('deny');
    expect(stranger.body.decision.reasons[0].rule).toBe('defaultEffect');
  });

  it('decides on actionAttributes, checked by the parser every decision API shares', async () => {
    const forced = await check({ ...deploy('staging/api'), actionAttributes: { force: true } });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect(forced.body.decision).toMatchObject({
      effect: 'deny',
      reasons: [{ rule: 'no-forced-deploys', message: 'Forced deploys are refused.' }],
    });
    const gentle = await check({ ...deploy('staging/api'), actionAttributes: { force: false } });
    expect(gentle.body.decision.effect).toBe('allow');
    const wrong = await check({ ...deploy('staging/api'), actionAttributes: ['force'] });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain('actionAttributes must be an object');
  });

  it('asks for a step-up with the complete requirement, its unmet parts and the command that meets it', async () => {
    const response = await check(deploy('prod/api'));
    expect(response.body.decision).toMatchObject({
      effect: 'step_up',
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['level', 'maxAge'],
    });
    expect(response.body.satisfy).toEqual({
      elevate: 'npx stepgate elevate --action it:deploy --resource prod/api',
    });
  });

  it('names both commands for a level and an approval gap, quoting what the shell needs', async () => {
    const response = await check(deploy('prod/db'));
    expect(response.body.decision.require).toEqual({ level: 'mfa', maxAge: 600, approvals: 1 });
    expect(response.body.satisfy).toEqual({
      elevate: 'npx stepgate elevate --action it:deploy --resource prod/db',
      request: "npx stepgate request --action it:deploy --resource prod/db --reason '<why>'",
      approvals: 1,
    });
    const spaced = await check(deploy("prod/it's mine"));
    expect(spaced.body.satisfy.elevate).toBe(
      "npx stepgate elevate --action it:deploy --resource 'prod/it'\\''s mine'",
    );
  });

  it("counts the principal's grants: a TOTP grant meets MFA, an approval grant adds approvals", async () => {
    await elevateWithTotp(cp, alice);
    const api1 = await check(deploy('prod/api'));
    expect(api1.body.decision.effect, JSON.stringify(api1.body)).toBe('allow');
    // Someone else's grant does nothing for carol.
    const other = await check(deploy('prod/api'), carol);
    expect(other.body.decision.effect).toBe('step_up');
    // A deny without evidence stays a deny, as on an agent: grants only improve a step-up.
    const vault = await check(deploy('vault'));
    expect(vault.body.decision, JSON.stringify(vault.body)).toMatchObject({
      effect: 'deny',
      reasons: [{ rule: 'vault-mfa-only' }],
    });

    // Still one approval short on the database: prod-mfa is met by the grant, so only the
    // approval rule's requirement is asked for, and only the approval request suggested...
    const db = await check(deploy('prod/db'));
    expect(db.body.decision).toMatchObject({ effect: 'step_up', unmet: ['approvals'] });
    expect(db.body.decision.require).toEqual({ approvals: 1 });
    expect(db.body.satisfy).toEqual({
      request: "npx stepgate request --action it:deploy --resource prod/db --reason '<why>'",
      approvals: 1,
    });
    // ...until bob approves alice's request: the approval grant and the TOTP grant together pass.
    const request = await api(cp.url, alice, 'POST', '/v1/approvals', {
      action: 'it:deploy',
      resource: { kind: 'environment', id: 'prod/db' },
      reason: 'schema migration',
      // Decided by the active policies for alice, a deployer in data.people: 1 approval.
      approvals: 1,
    });
    expect(request.status, JSON.stringify(request.body)).toBe(201);
    const approved = await api(cp.url, bob, 'POST', `/v1/approvals/${request.body.id}/approve`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const after = await check(deploy('prod/db'));
    expect(after.body.decision.effect, JSON.stringify(after.body)).toBe('allow');
  });

  it('refuses bad bodies with a 400 that names the field, and tokens without a viewer scope', async () => {
    const unknown = await check({ ...deploy('x'), extra: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('request/invalid');
    const missing = await check({ resource: { kind: 'k', id: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('action');
    const roles = await check({ ...deploy('x'), principal: { id: 'alice', roles: ['admin'] } });
    expect(roles.status).toBe(400);
    expect(roles.body.message).toContain('data.people');
    const agentToken = await token('an-agent', ['agent'], 'agent-1');
    expect((await check(deploy('x'), agentToken)).status).toBe(403);
    expect((await api(cp.url, undefined, 'POST', '/v1/check', deploy('x'))).status).toBe(401);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = await api(cp.url, undefined, 'GET', '/docs/openapi.json');
    const text = JSON.stringify(doc.body);
    expect(text).toContain('/v1/check');
    expect(text).toContain('satisfy');
  });
});

describe('POST /v1/check without an active version', () => {
  let idle: ControlPlaneProcess;

  beforeAll(async () => {
    idle = await startControlPlane({ STEPGATE_AUTO_ACTIVATE: 'false' });
  }, 120_000);

  afterAll(async () => {
    await idle?.destroy();
  });

  it('answers 503 service/unavailable saying what to do', async () => {
    const response = await api(idle.url, idle.adminToken, 'POST', '/v1/check', deploy('x'));
    expect(response.status).toBe(503);
    expect(response.body.error).toBe('service/unavailable');
    expect(response.body.message).toMatch(/no policy version is active/);
  });
});
