/**
 * Redis restarted while a push is being synced: the control plane runs on a PRIVATE
 * redis-server (no persistence, so a restart wipes every key, queue included) which this suite
 * kills and starts again; the shared Redis other suites use is never touched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  commit,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  listVersions,
  metricValue,
  privateRedis,
  tempDirs,
  validPolicyFiles,
  waitFor,
  waitForVersion,
  type PrivateRedis,
} from './support.js';

const temp = tempDirs();
let redis: PrivateRedis;
let cp: ControlPlaneProcess;
let work: string;
let syncDuringOutage: { status: number; body: string; ms: number } | undefined;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  redis = await privateRedis();
  await redis.start();
  cp = await startControlPlane({ REDIS_URL: redis.url });
  work = temp.make('redis-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active);
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await redis?.kill();
  temp.cleanup();
});

/** The embedded repository's branch head, read straight from disk (no Git, no HTTP). */
function headOnDisk(): string | undefined {
  const file = join(cp.dataDir, 'git', 'policies.git', 'refs', 'heads', 'main');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

describe('Redis restarted during a sync', () => {
  it('the pushed commit is synced and activated after Redis returns, without restarting the control plane', async () => {
    const startedAt = await metricValue(
      cp.url,
      'stepgate_control_plane_process_start_time_seconds',
    );
    expect(startedAt).toBeGreaterThan(0);
    const seed = (await listVersions(cp)).find((v) => v.active)!;
    const before = await commit(
      work,
      validPolicyFiles('before-outage'),
      'Pushed before the outage',
    );
    const first = await git(['push', 'origin', 'main'], work);
    expect(first.status, first.stderr).toBe(0);
    await waitForVersion(cp, before, (v) => v.active);

    const sha = await commit(work, validPolicyFiles('during-outage'), 'Pushed while Redis dies');
    // Kill Redis the moment the pushed ref lands, i.e. before the control plane queues the sync
    // (it does that once the push has been answered, after the post-receive report).
    const push = git(['push', 'origin', 'main'], work);
    await waitFor('the pushed ref on disk', async () => headOnDisk() === sha, 30_000, 5);
    await redis.kill();
    const killedAt = Date.now();
    const pushed = await push;
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(new RegExp(`stepgate: ${sha.slice(0, 7)} compiles`));
    expect((await listVersions(cp)).some((v) => v.sha === sha)).toBe(false);

    // While Redis is down: /readyz is 503 naming Redis, the admin API keeps answering.
    await waitFor('readyz to report Redis down', async () => {
      const readyz = await api(cp.url, undefined, 'GET', '/readyz');
      return readyz.status === 503 && readyz.body.checks.redis.ok === false;
    });
    const readyz = await api(cp.url, undefined, 'GET', '/readyz');
    expect(readyz.body).toMatchObject({
      status: 'not_ready',
      checks: { database: { ok: true }, redis: { ok: false, error: expect.any(String) } },
    });
    const started = Date.now();
    const versions = await api(cp.url, cp.adminToken, 'GET', '/v1/versions');
    expect(versions.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await api(cp.url, cp.adminToken, 'GET', '/v1/audit')).status).toBe(200);
    expect((await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active')).status).toBe(200);
    expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
    // Rollback needs only the database.
    const rollback = await api(cp.url, cp.adminToken, 'POST', '/v1/rollback', {
      reason: 'during the Redis outage',
    });
    expect(rollback.status).toBe(200);
    expect(rollback.body.activeVersion.number).toBe(seed.number);
    // Asking for a sync now must not hang (asserted in its own test below).
    const asked = Date.now();
    syncDuringOutage = await fetch(`${cp.url}/v1/sources/default/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cp.adminToken}` },
      signal: AbortSignal.timeout(5000),
    }).then(
      async (response) => ({
        status: response.status,
        body: await response.text(),
        ms: Date.now() - asked,
      }),
      (error: Error) => ({ status: 0, body: error.name, ms: Date.now() - asked }),
    );

    // Keep Redis away for a few seconds (readyz must say so the whole time), then bring it back
    // empty on the same port.
    await waitFor(
      'three seconds of outage',
      async () => {
        const check = await api(cp.url, undefined, 'GET', '/readyz');
        if (check.status !== 503)
          throw new Error(`readyz answered ${check.status} with Redis down`);
        return Date.now() - killedAt >= 3000;
      },
      20_000,
      250,
    );
    expect((await listVersions(cp)).some((v) => v.sha === sha)).toBe(false);
    await redis.start();

    // The commit pushed during the outage is the new head: synced, then auto-activated.
    const version = await waitForVersion(cp, sha, (v) => v.active, 45_000);
    expect(version).toMatchObject({ status: 'ready', active: true });
    await waitFor(
      'readyz to recover',
      async () => (await api(cp.url, undefined, 'GET', '/readyz')).status === 200,
      30_000,
    );

    // Same process all along.
    expect(await metricValue(cp.url, 'stepgate_control_plane_process_start_time_seconds')).toBe(
      startedAt,
    );
  }, 120_000);

  it('while Redis is down, POST /v1/sources/default/sync answers promptly (202 or 503) instead of hanging', () => {
    expect(syncDuringOutage, 'the outage test did not get that far').toBeDefined();
    const { status, body, ms } = syncDuringOutage!;
    expect([202, 503], `answered ${status} (${body}) after ${ms} ms`).toContain(status);
  });

  it('after the restart, the queue and its worker work as before: the next push syncs at once', async () => {
    const sha = await commit(
      work,
      validPolicyFiles('after-outage'),
      'Pushed after Redis came back',
    );
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(await waitForVersion(cp, sha, (v) => v.active, 20_000)).toMatchObject({
      status: 'ready',
    });
  }, 60_000);
});
