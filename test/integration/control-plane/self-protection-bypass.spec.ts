/**
 * Self-protection cannot be walked around with an admin token alone. A policy protects every
 * `stepgate:*` action with fresh MFA; the attacker holds the bootstrap admin token but not its
 * owner's authenticator. Each way round the protection found in issue 10 is tried against the
 * real control plane, its embedded repository (real `git push`), PostgreSQL and Redis:
 *   (a) removing the owner's TOTP factor to enrol the attacker's own,
 *   (b) a `git push` that deletes the protection policy,
 *   (c) adding a source that auto-activates, or triggering a sync,
 * and each must be refused (or held) while the owner, stepped up, can still do all of it, with
 * the real actor in the audit log.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  commit,
  createToken,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  listVersions,
  tempDirs,
  validPolicyFiles,
  waitFor,
  waitForVersion,
  type Version,
} from './support.js';
import { cloneEmbedded, enrolTotp, totpCode, type TotpDevice } from './step-up-support.js';

const PROTECTION_FILE = 'stepgate/protect-control-plane.yaml';
const PROTECTION = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: protect-control-plane',
  'description: Every admin action of the control plane needs MFA from the last 10 minutes.',
  'target:',
  '  actions: ["stepgate:*"]',
  'rules:',
  '  - name: fresh-mfa',
  '    effect: step_up',
  '    require: { level: mfa, maxAge: 10m }',
  '',
].join('\n');

const ADMIN = 'bootstrap-admin';
const temp = tempDirs();
let cp: ControlPlaneProcess;
let db: pg.Client;
let work: string;
let adminDevice: TotpDevice;
let protectedVersion: Version;

/**
 * The real owner (who holds the admin's authenticator) steps up for `stepgate:*`, acts, and
 * revokes the grant: a grant belongs to the subject, so while it lasts anyone holding the admin
 * token would share it, and the attacks below must start from an admin without one.
 */
async function asOwner<T>(act: () => Promise<T>): Promise<T> {
  const elevated = await api(cp.url, cp.adminToken, 'POST', '/v1/elevation/totp', {
    code: await totpCode(adminDevice),
    actions: ['stepgate:*'],
    ttlSeconds: 300,
  });
  expect(elevated.status, JSON.stringify(elevated.body)).toBe(201);
  try {
    return await act();
  } finally {
    const revoked = await api(
      cp.url,
      cp.adminToken,
      'DELETE',
      `/v1/grants/${elevated.body.id}`,
      {},
    );
    expect(revoked.status).toBe(204);
  }
}

async function audit(action: string) {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/audit?action=${action}&limit=100`);
  expect(response.status).toBe(200);
  return response.body.events as Array<{
    actor: string;
    action: string;
    target: string | null;
    reason: string | null;
    details: any;
  }>;
}

async function version(number: number): Promise<any> {
  const response = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${number}`);
  expect(response.status).toBe(200);
  return response.body;
}

/** Waits until the default source has synced `sha` (whatever became of its version). */
async function synced(sha: string): Promise<void> {
  await waitFor(`the sync of ${sha.slice(0, 7)}`, async () => {
    const source = await api(cp.url, cp.adminToken, 'GET', '/v1/sources/default');
    return source.body.lastSyncedSha === sha;
  });
}

function expectStepUp(response: { status: number; body: any }, action: string, resource: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(401);
  expect(response.body.error).toBe('auth/step_up_required');
  expect(response.body.details).toMatchObject({ action, resource });
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  work = temp.make('self-protection');
  await cloneEmbedded(cp, work);
  // The real owner enrols the admin's authenticator before anything is protected.
  adminDevice = await enrolTotp(cp, cp.adminToken, ADMIN);
  // Enrolling granted nothing: the protection below starts from an admin without a grant.
  const grants = await api(cp.url, cp.adminToken, 'GET', `/v1/grants?subject=${ADMIN}`);
  expect(grants.body.grants).toEqual([]);
  // Then protects the control plane (activation is not protected yet: nothing protects it).
  const sha = await commit(work, { [PROTECTION_FILE]: PROTECTION }, 'Protect the control plane');
  const push = await git(['push', '--quiet', 'origin', 'main'], work);
  expect(push.status, push.stderr).toBe(0);
  await synced(sha);
  protectedVersion = await waitForVersion(cp, sha, (v) => v.status === 'ready');
  if (!protectedVersion.active) {
    const activated = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${protectedVersion.number}/activate`,
      { reason: 'turn self-protection on' },
    );
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
  }
  // The protection is in force: activation answers step_up_required.
  expectStepUp(
    await api(cp.url, cp.adminToken, 'POST', `/v1/versions/1/activate`, {}),
    'stepgate:activate',
    'versions/1',
  );
}, 360_000);

afterAll(async () => {
  await db?.end();
  await cp?.destroy();
  temp.cleanup();
});

describe('(a) factor removal with only the admin token', () => {
  it("refuses to delete the owner's TOTP factor without a step-up, so no attacker factor can follow", async () => {
    const removed = await api(cp.url, cp.adminToken, 'DELETE', `/v1/elevation/totp/${ADMIN}`);
    expectStepUp(removed, 'stepgate:factors:delete', `factors/${ADMIN}`);
    const factor = await db.query('SELECT confirmed_at FROM totp_factor WHERE subject = $1', [
      ADMIN,
    ]);
    expect(factor.rows[0]?.confirmed_at).not.toBeNull();
    // The rest of the chain stays closed: no new factor (replacing it needs a code from it),
    // hence no grant, no activation, no new token.
    const enrol = await api(cp.url, cp.adminToken, 'POST', '/v1/elevation/totp/enroll', {});
    expect(enrol.status, JSON.stringify(enrol.body)).toBe(409);
    const key = await api(
      cp.url,
      cp.adminToken,
      'POST',
      '/v1/elevation/webauthn/registration/options',
      {},
    );
    expect(key.status, JSON.stringify(key.body)).toBe(401);
    expect(key.body.error).toBe('auth/step_up_required');
    expect(
      (await db.query('SELECT 1 FROM webauthn_credential WHERE subject = $1', [ADMIN])).rowCount,
    ).toBe(0);
    expectStepUp(
      await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', { name: 'loot', scopes: ['admin'] }),
      'stepgate:tokens:create',
      'tokens',
    );
    expect(await audit('elevation.totp.delete')).toHaveLength(0);
  }, 120_000);

  it("refuses to revoke other admins' tokens without a step-up (locking them out mid-incident)", async () => {
    const other = await asOwner(() => createToken(cp, 'second-admin', ['admin']));
    const revoked = await api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${other.id}`);
    expectStepUp(revoked, 'stepgate:tokens:delete', `tokens/${other.id}`);
    expect((await api(cp.url, other.token, 'GET', '/v1/tokens')).status).toBe(200);
    const owner = await asOwner(() =>
      api(cp.url, cp.adminToken, 'DELETE', `/v1/tokens/${other.id}`),
    );
    expect(owner.status, JSON.stringify(owner.body)).toBe(204);
    expect((await api(cp.url, other.token, 'GET', '/v1/tokens')).status).toBe(401);
  }, 120_000);

  it("lets the stepped-up owner reset someone's factor, audited with the owner as actor", async () => {
    const dana = await asOwner(async () => {
      const created = await createToken(cp, 'dana', ['viewer']);
      await enrolTotp(cp, created.token, 'dana');
      return created.token;
    });
    expect(dana).toMatch(/^sg_/);
    const removed = await asOwner(() =>
      api(cp.url, cp.adminToken, 'DELETE', '/v1/elevation/totp/dana'),
    );
    expect(removed.status, JSON.stringify(removed.body)).toBe(204);
    const events = await audit('elevation.totp.delete');
    expect(events[0]).toMatchObject({ actor: `token:${ADMIN}`, target: 'dana' });
  }, 120_000);
});

describe('(b) a git push that changes the protection policy', () => {
  it('is recorded with its pusher, never auto-activated, and says it waits for a stepped-up activation', async () => {
    const sha = await commit(work, { [PROTECTION_FILE]: null }, 'Drop the protection');
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toContain(`remote: stepgate: ${sha.slice(0, 7)} compiles`);
    expect(push.stderr).toMatch(/changes the self-protection policies/);
    expect(push.stderr).toContain(`stepgate activate ${sha.slice(0, 7)} --reason`);
    await synced(sha);
    const held = await waitForVersion(cp, sha, (v) => v.status === 'ready');
    expect(held.active).toBe(false);
    expect(await version(held.number)).toMatchObject({
      pushedBy: `token:${ADMIN}`,
      protectionChanged: true,
    });
    const active = (await listVersions(cp)).find((v) => v.active);
    expect(active?.number).toBe(protectedVersion.number);
    const events = await audit('version.activation_held');
    expect(events[0]).toMatchObject({ actor: `token:${ADMIN}`, target: held.id });

    // Activating it is the normal protected activation, decided by the ACTIVE policies.
    expectStepUp(
      await api(cp.url, cp.adminToken, 'POST', `/v1/versions/${held.number}/activate`, {
        reason: 'attacker',
      }),
      'stepgate:activate',
      `versions/${held.number}`,
    );

    // The owner, stepped up, can activate it: the audit names them.
    const activated = await asOwner(() =>
      api(cp.url, cp.adminToken, 'POST', `/v1/versions/${held.number}/activate`, {
        reason: 'drop the protection on purpose',
      }),
    );
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    expect((await audit('version.activate'))[0]).toMatchObject({
      actor: `token:${ADMIN}`,
      target: held.id,
      reason: 'drop the protection on purpose',
    });
    // Back to the protected version (nothing protects activation while it is off).
    const back = await api(
      cp.url,
      cp.adminToken,
      'POST',
      `/v1/versions/${protectedVersion.number}/activate`,
      { reason: 'protect again' },
    );
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    // Undo it in the repository so later pushes do not carry the removal.
    await gitOk(['revert', '--no-edit', 'HEAD'], work);
  }, 120_000);

  it('a push that leaves the protection alone is auto-activated, and the audit names the pusher', async () => {
    const sha = await commit(work, validPolicyFiles('ordinary'), 'An ordinary change');
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    const ordinary = await waitForVersion(cp, sha, (v) => v.active);
    expect(await version(ordinary.number)).toMatchObject({
      pushedBy: `token:${ADMIN}`,
      protectionChanged: false,
    });
    const events = await audit('version.activate');
    expect(events[0]).toMatchObject({ actor: `token:${ADMIN}`, target: ordinary.id });
    expect(events.some((event) => event.actor.startsWith('sync:'))).toBe(false);
  }, 120_000);
});

describe('(c) sources and syncs', () => {
  it('refuses to add an auto-activating source, or to trigger a sync, without a step-up', async () => {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/sources', {
      name: 'attacker',
      url: 'https://git.example.com/attacker/policies.git',
      autoActivate: true,
    });
    expectStepUp(created, 'stepgate:sources:create', 'sources/attacker');
    const sources = await api(cp.url, cp.adminToken, 'GET', '/v1/sources');
    expect(sources.body.sources.map((s: { id: string }) => s.id)).toEqual(['default']);
    expectStepUp(
      await api(cp.url, cp.adminToken, 'POST', '/v1/sources/default/sync'),
      'stepgate:sync',
      'sources/default',
    );
  }, 120_000);

  it('lets the stepped-up owner trigger a sync, recorded with the owner', async () => {
    const sync = await asOwner(() =>
      api(cp.url, cp.adminToken, 'POST', '/v1/sources/default/sync'),
    );
    expect(sync.status, JSON.stringify(sync.body)).toBe(202);
    const events = await audit('source.sync');
    expect(events[0]).toMatchObject({ actor: `token:${ADMIN}`, target: 'default' });
  }, 120_000);
});
