/**
 * Activation, rollback and shadow over the admin API of the real control plane, with the
 * versions made by real pushes to the embedded repository; every signed bundle is verified
 * against the published keys and revisions must only ever grow.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { verifyBundle, type BundlePayload } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  activeVersion,
  api,
  brokenCel,
  busySyncJobs,
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  listVersions,
  readText,
  tempDirs,
  validPolicyFiles,
  waitFor,
  waitForVersion,
  type Version,
} from './support.js';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let operator: string;
let work: string;
/** v1 seed, v2 and v3 valid pushes (v3 active after the pushes), v4 broken. */
const v: Record<number, Version> = {};
/** Every bundle revision seen, in order. */
const revisions: number[] = [];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  operator = (await createToken(cp, 'release-manager', ['operator'])).token;
  work = temp.make('activation-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  v[1] = await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (x) => x.active);
  for (const n of [2, 3]) {
    const sha = await commit(work, validPolicyFiles(`v${n}`), `Version ${n}`);
    const push = await git(['push', 'origin', 'main'], work);
    if (push.status !== 0) throw new Error(push.stderr);
    v[n] = await waitForVersion(cp, sha, (x) => x.active);
  }
  const path = 'api/admin-step-up.yaml';
  const sha = await commit(work, { [path]: brokenCel(readText(work, path)) }, 'Broken');
  const push = await git(['push', 'origin', 'main'], work);
  if (push.status !== 0) throw new Error(push.stderr);
  v[4] = await waitForVersion(cp, sha, (x) => x.status === 'failed');
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

/** GET /v1/bundles/<kind>, verified with verifyBundle against GET /v1/keys. */
async function verifiedBundle(kind: 'active' | 'shadow'): Promise<BundlePayload> {
  const response = await api(cp.url, operator, 'GET', `/v1/bundles/${kind}`);
  expect(response.status).toBe(200);
  const keys = await api(cp.url, undefined, 'GET', '/v1/keys');
  expect(keys.status).toBe(200);
  const payload = await verifyBundle(response.body.jws, keys.body);
  expect(payload.kind).toBe(kind);
  expect(payload.revision).toBe(response.body.revision);
  expect(payload.version.number).toBe(response.body.versionNumber);
  if (kind === 'active') {
    const last = revisions.at(-1) ?? 0;
    expect(payload.revision).toBeGreaterThanOrEqual(last);
    revisions.push(payload.revision);
  }
  return payload;
}

async function auditEvents(action: string) {
  const response = await api(cp.url, operator, 'GET', `/v1/audit?action=${action}&limit=500`);
  expect(response.status).toBe(200);
  return response.body.events as Array<{
    actor: string;
    action: string;
    target: string | null;
    reason: string | null;
    details: { revision: number; from: string | null; to: string | null };
  }>;
}

describe('activation, rollback, shadow', () => {
  it('starts from pushes: v3 active, v4 failed; the active bundle verifies against /v1/keys', async () => {
    expect((await activeVersion(cp))?.number).toBe(v[3]!.number);
    expect(v[4]).toMatchObject({ status: 'failed', active: false });
    const bundle = await verifiedBundle('active');
    expect(bundle).toMatchObject({
      format: 'stepgate.bundle/v1',
      rollback: false,
      version: { number: v[3]!.number, sha: v[3]!.sha },
    });
    // The JWS names the key it was signed with, and that key is published.
    const response = await api(cp.url, operator, 'GET', '/v1/bundles/active');
    const header = JSON.parse(
      Buffer.from(response.body.jws.split('.')[0], 'base64url').toString('utf8'),
    );
    const keys = await api(cp.url, undefined, 'GET', '/v1/keys');
    expect(header).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) });
    expect(keys.body.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    expect(JSON.stringify(keys.body)).not.toMatch(/"d":/); // never the private part
  });

  it('activating a ready version answers 200, bumps the revision and is audited', async () => {
    const before = await verifiedBundle('active');
    const response = await api(cp.url, operator, 'POST', `/v1/versions/${v[2]!.number}/activate`, {
      reason: 'pin v2 for the incident',
    });
    expect(response.status).toBe(200);
    expect(response.body.revision).toBe(before.revision + 1);
    expect(response.body.activeVersion).toMatchObject({ number: v[2]!.number, active: true });
    expect(response.body.from).toMatchObject({ number: v[3]!.number, active: false });
    expect((await activeVersion(cp))?.number).toBe(v[2]!.number);

    const bundle = await verifiedBundle('active');
    expect(bundle).toMatchObject({ revision: before.revision + 1, rollback: false });
    expect(bundle.version.number).toBe(v[2]!.number);

    const [event] = await auditEvents('version.activate');
    expect(event).toMatchObject({
      actor: 'token:release-manager',
      action: 'version.activate',
      target: v[2]!.id,
      reason: 'pin v2 for the incident',
      details: { revision: before.revision + 1, from: v[3]!.id, to: v[2]!.id },
    });
  });

  it('activating the version already active changes nothing (same revision, no audit row)', async () => {
    const before = await verifiedBundle('active');
    const audited = (await auditEvents('version.activate')).length;
    const response = await api(cp.url, operator, 'POST', `/v1/versions/${v[2]!.sha}/activate`, {});
    expect(response.status).toBe(200);
    expect(response.body.revision).toBe(before.revision);
    expect((await auditEvents('version.activate')).length).toBe(audited);
  });

  it('a failed version cannot be activated (409 version/not_ready), an unknown one is 404', async () => {
    const revision = (await verifiedBundle('active')).revision;
    const failed = await api(cp.url, operator, 'POST', `/v1/versions/${v[4]!.number}/activate`, {});
    expect(failed.status).toBe(409);
    expect(failed.body).toMatchObject({ error: 'version/not_ready', message: expect.any(String) });
    const unknown = await api(cp.url, operator, 'POST', '/v1/versions/9999/activate', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('version/not_found');
    const unknownSha = await api(cp.url, operator, 'POST', '/v1/versions/abcdef0123/activate', {});
    expect(unknownSha.status).toBe(404);
    const shadowFailed = await api(
      cp.url,
      operator,
      'POST',
      `/v1/versions/${v[4]!.number}/shadow`,
      {},
    );
    expect(shadowFailed.status).toBe(409);
    const rollbackToFailed = await api(cp.url, operator, 'POST', '/v1/rollback', {
      to: String(v[4]!.number),
      reason: 'nope',
    });
    expect(rollbackToFailed.status).toBe(409);
    expect((await activeVersion(cp))?.number).toBe(v[2]!.number);
    expect((await verifiedBundle('active')).revision).toBe(revision);
  });

  it('rollback returns to the previously active version, audited with actor and reason; the bundle says rollback', async () => {
    const before = await verifiedBundle('active');
    const response = await api(cp.url, operator, 'POST', '/v1/rollback', {
      reason: 'v2 breaks deploys',
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      revision: before.revision + 1,
      activeVersion: { number: v[3]!.number, active: true },
      from: { number: v[2]!.number },
    });
    expect((await activeVersion(cp))?.number).toBe(v[3]!.number);

    const bundle = await verifiedBundle('active');
    expect(bundle).toMatchObject({ revision: before.revision + 1, rollback: true });
    expect(bundle.version.sha).toBe(v[3]!.sha);

    const [event] = await auditEvents('version.rollback');
    expect(event).toMatchObject({
      actor: 'token:release-manager',
      action: 'version.rollback',
      target: v[3]!.id,
      reason: 'v2 breaks deploys',
      details: { revision: before.revision + 1, from: v[2]!.id, to: v[3]!.id },
    });
  });

  it('rollback {to: n} activates that version; a reason is required', async () => {
    const noReason = await api(cp.url, operator, 'POST', '/v1/rollback', { to: '1' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toBe('request/invalid');

    const before = await verifiedBundle('active');
    const response = await api(cp.url, operator, 'POST', '/v1/rollback', {
      to: String(v[1]!.number),
      reason: 'back to the seed',
    });
    expect(response.status).toBe(200);
    expect(response.body.activeVersion.number).toBe(v[1]!.number);
    expect(response.body.revision).toBe(before.revision + 1);
    const bundle = await verifiedBundle('active');
    expect(bundle).toMatchObject({ rollback: true, version: { number: v[1]!.number } });
    const [event] = await auditEvents('version.rollback');
    expect(event).toMatchObject({ reason: 'back to the seed', target: v[1]!.id });
  });

  it('rollback needs only the database: it works with the Git repository gone', async () => {
    // Take the embedded repository away entirely (as if the Git side were down).
    const repo = join(cp.dataDir, 'git', 'policies.git');
    const hidden = join(cp.dataDir, 'git', 'policies.git.away');
    renameSync(repo, hidden);
    try {
      const clone = await git(['ls-remote', embeddedRepoUrl(cp, cp.adminToken)]);
      expect(clone.status).not.toBe(0); // Git really is unusable now
      const readyz = await api(cp.url, undefined, 'GET', '/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.body.checks.git.ok).toBe(false);

      const before = await verifiedBundle('active');
      const response = await api(cp.url, operator, 'POST', '/v1/rollback', {
        reason: 'git is down and v1 is wrong',
      });
      expect(response.status).toBe(200);
      expect(response.body.activeVersion.number).toBe(v[3]!.number);
      const bundle = await verifiedBundle('active');
      expect(bundle).toMatchObject({ revision: before.revision + 1, rollback: true });
      expect(bundle.version.number).toBe(v[3]!.number);
    } finally {
      renameSync(hidden, repo);
    }
    await waitFor(
      'readyz to recover',
      async () => (await api(cp.url, undefined, 'GET', '/readyz')).status === 200,
    );
  });

  it('a shadow version is set and cleared, both audited, with a verifiable shadow bundle', async () => {
    const none = await api(cp.url, operator, 'GET', '/v1/bundles/shadow');
    expect(none.status).toBe(404);
    expect(none.body.error).toBe('bundle/not_found');

    const before = await verifiedBundle('active');
    const set = await api(cp.url, operator, 'POST', `/v1/versions/${v[2]!.number}/shadow`, {
      reason: 'try v2 in dry-run',
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      revision: before.revision + 1,
      shadowVersion: { number: v[2]!.number, shadow: true, active: false },
    });
    const versions = await listVersions(cp);
    expect(versions.filter((x) => x.shadow).map((x) => x.number)).toEqual([v[2]!.number]);
    expect(versions.filter((x) => x.active).map((x) => x.number)).toEqual([v[3]!.number]);

    const shadow = await verifiedBundle('shadow');
    expect(shadow).toMatchObject({ kind: 'shadow', revision: before.revision + 1 });
    expect(shadow.version.number).toBe(v[2]!.number);
    // The active bundle keeps the same version under the new revision.
    const active = await verifiedBundle('active');
    expect(active.version.number).toBe(v[3]!.number);
    expect(active.revision).toBe(before.revision + 1);

    const [setEvent] = await auditEvents('version.shadow_set');
    expect(setEvent).toMatchObject({
      actor: 'token:release-manager',
      target: v[2]!.id,
      reason: 'try v2 in dry-run',
      details: { from: null, to: v[2]!.id },
    });

    const cleared = await api(cp.url, operator, 'DELETE', '/v1/shadow', { reason: 'enough data' });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({ revision: before.revision + 2, shadowVersion: null });
    expect((await listVersions(cp)).some((x) => x.shadow)).toBe(false);
    expect((await api(cp.url, operator, 'GET', '/v1/bundles/shadow')).status).toBe(404);
    const [clearEvent] = await auditEvents('version.shadow_clear');
    expect(clearEvent).toMatchObject({
      actor: 'token:release-manager',
      reason: 'enough data',
      details: { from: v[2]!.id, to: null },
    });
    expect((await verifiedBundle('active')).revision).toBe(before.revision + 2);
  });

  it('a rollback away from a ready head survives a re-sync and a restart', async () => {
    // A new ready head, auto-activated; then rolled back.
    await gitOk(['checkout', v[3]!.sha, '--', 'api/admin-step-up.yaml'], work); // un-break v4
    const sha = await commit(work, validPolicyFiles('v5'), 'Version 5');
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    const v5 = await waitForVersion(cp, sha, (x) => x.active);
    const rollback = await api(cp.url, operator, 'POST', '/v1/rollback', { reason: 'v5 is bad' });
    expect(rollback.status).toBe(200);
    const target = rollback.body.activeVersion.number as number;
    expect(target).not.toBe(v5.number);

    // Re-syncing the same head must not re-activate it.
    const before = await api(cp.url, operator, 'GET', '/v1/sources/default');
    expect((await api(cp.url, operator, 'POST', '/v1/sources/default/sync')).status).toBe(202);
    await waitFor('the sync to run', async () => {
      const source = await api(cp.url, operator, 'GET', '/v1/sources/default');
      return source.body.lastSyncAt !== before.body.lastSyncAt && (await busySyncJobs(cp)) === 0;
    });
    expect((await activeVersion(cp))?.number).toBe(target);

    // Nor must a restart (and its start-up sync); revision and signing key carry over.
    const bundle = await verifiedBundle('active');
    const kids = async () =>
      (await api(cp.url, undefined, 'GET', '/v1/keys')).body.keys.map(
        (k: { kid: string }) => k.kid,
      );
    const kidsBefore = await kids();
    await cp.restart();
    // The start-up sync is queued before the server listens; let it finish.
    await waitFor('the start-up sync', async () => (await busySyncJobs(cp)) === 0);
    expect((await activeVersion(cp))?.number).toBe(target);
    const after = await verifiedBundle('active');
    expect(after).toMatchObject({ revision: bundle.revision, rollback: true });
    expect(after.version).toEqual(bundle.version);
    expect(await kids()).toEqual(kidsBefore);
  }, 90_000);

  it('bundle revisions only ever grew, and the audit log holds every change in order', async () => {
    expect(revisions.length).toBeGreaterThan(5);
    for (let i = 1; i < revisions.length; i++)
      expect(revisions[i]!).toBeGreaterThanOrEqual(revisions[i - 1]!);
    expect(new Set(revisions).size).toBeGreaterThanOrEqual(6);

    const all = await api(cp.url, operator, 'GET', '/v1/audit?limit=500');
    const changes = (all.body.events as Array<{ action: string; details: { revision?: number } }>)
      .filter((e) => e.action.startsWith('version.'))
      .map((e) => e.details.revision as number);
    // Newest first, strictly decreasing: one revision per change, none reused.
    expect(changes.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < changes.length; i++) expect(changes[i]!).toBeLessThan(changes[i - 1]!);
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^stepgate_active_revision ${changes[0]}$`, 'm'));
  });
});
