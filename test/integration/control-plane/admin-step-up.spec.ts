/**
 * Self-protection: the control plane decides its own sensitive admin actions (rollback,
 * activation, shadow, token creation) with the active policies, and asks the admin to step up
 * (or refuses) only where a policy written for `stepgate:*` matches. Real control plane,
 * policies pushed to its embedded repository, elevation through the real TOTP routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { api, createToken, ensureControlPlaneBuilt, tempDirs, type Version } from './support.js';
import { cloneEmbedded, elevateWithTotp, pushPolicies } from './step-up-support.js';

/** Rollback needs MFA within 10 minutes; shadowing is refused to everybody. */
const PROTECTION = {
  'stepgate/protect-admin.yaml': [
    'apiVersion: stepgate/v1',
    'kind: Policy',
    'name: protect-admin',
    'description: Rolling back needs fresh MFA; nobody shadows.',
    'target:',
    '  actions: ["stepgate:rollback", "stepgate:shadow"]',
    'rules:',
    '  - name: fresh-mfa-to-roll-back',
    '    effect: step_up',
    '    when: action == "stepgate:rollback"',
    '    require: { level: mfa, maxAge: 10m }',
    '  - name: no-shadow',
    '    effect: deny',
    '    when: action == "stepgate:shadow"',
    '    message: Shadow runs are switched off here.',
    '',
  ].join('\n'),
};

const temp = tempDirs();
let cp: ControlPlaneProcess;
let seed: Version;
let protectedVersion: Version;

async function auditActions(action: string) {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/audit?action=${action}&limit=50`);
  expect(response.status).toBe(200);
  return response.body.events as Array<{ actor: string; target: string | null; details: any }>;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  const work = temp.make('admin-step-up');
  seed = await cloneEmbedded(cp, work);
  protectedVersion = await pushPolicies(cp, work, PROTECTION, 'Protect rollback');
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

describe('admin step-up (self-protection)', () => {
  it('refuses a rollback without a fresh MFA grant: 401 step_up_required with require and satisfy, audited', async () => {
    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/rollback', {
      reason: 'try without MFA',
    });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('auth/step_up_required');
    expect(response.body.details.require).toEqual({ level: 'mfa', maxAge: 600 });
    expect(response.body.details.resource).toBe(`versions/${seed.number}`);
    expect(response.body.details.satisfy.elevate).toBe(
      `npx stepgate elevate --action stepgate:rollback --resource versions/${seed.number}`,
    );
    expect(response.body.message).toContain('npx stepgate elevate --action stepgate:rollback');
    expect(response.body.details.reasons).toEqual(['protect-admin/fresh-mfa-to-roll-back']);

    const events = await auditActions('stepup.required');
    expect(events[0]).toMatchObject({
      actor: 'token:bootstrap-admin',
      target: 'stepgate:rollback',
      details: { resource: `versions/${seed.number}`, require: { level: 'mfa', maxAge: 600 } },
    });
    // Nothing changed.
    const versions = await api(
      cp.url,
      cp.adminToken,
      'GET',
      `/v1/versions/${protectedVersion.number}`,
    );
    expect(versions.body.active).toBe(true);
  });

  it('refuses a rollback to a named version the same way, naming that version', async () => {
    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/rollback', {
      reason: 'named target',
      to: seed.sha.slice(0, 10),
    });
    expect(response.status).toBe(401);
    expect(response.body.details.resource).toBe(`versions/${seed.number}`);
  });

  it('answers 403 for a matching deny, audited as stepup.denied', async () => {
    const response = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${seed.number}/shadow`,
      {
        reason: 'dry run',
      },
    );
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('auth/forbidden');
    expect(response.body.message).toContain('protect-admin/no-shadow');
    expect(response.body.message).toContain('Shadow runs are switched off here.');
    const events = await auditActions('stepup.denied');
    expect(events[0]).toMatchObject({ target: 'stepgate:shadow' });
  });

  it('leaves actions no policy speaks about alone (token creation, activation)', async () => {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: 'ci-viewer',
      scopes: ['viewer'],
    });
    expect(created.status).toBe(201);
    // Re-activating the active version matches no policy either: 200, nothing changes.
    const activated = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${protectedVersion.number}/activate`,
      { reason: 'no-op' },
    );
    expect(activated.status).toBe(200);
  });

  it('lets the rollback through once the admin holds a current TOTP grant', async () => {
    const grant = await elevateWithTotp(cp, cp.adminToken);
    expect(grant.subject).toBe('bootstrap-admin');
    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/rollback', {
      reason: 'with MFA',
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.activeVersion.number).toBe(seed.number);
  });

  it('is decided for the token subject: another operator without a grant is still asked', async () => {
    // Back to the protected version (activation is not protected) so rollback is again.
    const back = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${protectedVersion.number}/activate`,
      { reason: 'protect again' },
    );
    expect(back.status).toBe(200);
    const operator = await createToken(cp, 'release-manager', ['operator']);
    const response = await api(cp.url, operator.token, 'POST', '/v1/rollback', {
      reason: 'no MFA',
    });
    expect(response.status).toBe(401);
    expect(response.body.message).toContain('release-manager');
  });
});

describe('STEPGATE_ADMIN_STEP_UP=off (break-glass)', () => {
  let glass: ControlPlaneProcess;

  beforeAll(async () => {
    glass = await startControlPlane({ STEPGATE_ADMIN_STEP_UP: 'off' });
    const work = temp.make('admin-step-up-off');
    await cloneEmbedded(glass, work);
    await pushPolicies(glass, work, PROTECTION, 'Protect rollback');
  }, 360_000);

  afterAll(async () => {
    await glass?.destroy();
  });

  it('lets the rollback through without a grant and says so at start', async () => {
    const response = await api(glass.url, glass.adminToken, 'POST', '/v1/rollback', {
      reason: 'break-glass',
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(glass.output()).toContain('STEPGATE_ADMIN_STEP_UP=off');
  });
});
