/**
 * A remote policy source (a real smart-HTTP Git server on loopback playing GitHub/GitLab/Gitea)
 * synced by the real control plane on push webhooks: signatures, duplicates, the three forge
 * formats, force-pushes, manual syncs, and rollback with the remote gone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedRepository } from '../../../apps/control-plane/src/git/embedded-repository.js';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { GitHttpTestServer, type RunningGitHttpServer } from '../../support/git-http-server.js';
import {
  activeVersion,
  api,
  commit,
  createToken,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  listVersions,
  sendWebhook,
  syncJobs,
  tempDirs,
  validPolicyFiles,
  waitFor,
  waitForVersion,
  webhookRequest,
  type Forge,
} from './support.js';

const SECRET = 'it-webhook-secret-0123456789';
const temp = tempDirs();
let remote: RunningGitHttpServer;
let cp: ControlPlaneProcess;
let work: string;
let seedSha: string;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  const bare = join(temp.make('remote'), 'policies.git');
  seedSha = (await ensureEmbeddedRepository(bare, { seedFrom: join(REPO_ROOT, 'policies') })).head!;
  remote = await new GitHttpTestServer({ repoDir: bare }).start();
  cp = await startControlPlane({
    STEPGATE_SOURCE_URL: remote.url,
    STEPGATE_WEBHOOK_SECRET: SECRET,
  });
  work = temp.make('remote-clone');
  await gitOk(['clone', '--quiet', remote.url, work]);
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  await remote?.close();
  temp.cleanup();
});

/** Commits a new valid policy and pushes it to the remote (no webhook): its sha. */
async function pushCommit(tag: string): Promise<string> {
  const sha = await commit(work, validPolicyFiles(tag), `Add ${tag}`);
  const push = await git(['push', 'origin', 'main'], work);
  if (push.status !== 0) throw new Error(push.stderr);
  return sha;
}

const pushBody = (after: string, ref = 'refs/heads/main') => ({
  ref,
  before: '0'.repeat(40),
  after,
  repository: { full_name: 'acme/policies' },
  pusher: { name: 'octo-pusher', email: 'octo@example.com' },
});

async function fetchesOfRemote(): Promise<number> {
  return remote.requests.filter((r) => r.path.endsWith('/info/refs')).length;
}

describe('remote source + webhooks', () => {
  it('syncs the remote at start-up: the seed commit is version 1, active', async () => {
    const version = await waitForVersion(cp, seedSha, (v) => v.active);
    expect(version).toMatchObject({ number: 1, status: 'ready' });
    const source = await api(cp.url, cp.adminToken, 'GET', '/v1/sources/default');
    expect(source.status).toBe(200);
    expect(source.body).toMatchObject({
      id: 'default',
      kind: 'remote',
      url: remote.url,
      branch: 'main',
      hasWebhookSecret: true,
      lastSyncedSha: seedSha,
    });
    expect(JSON.stringify(source.body)).not.toContain(SECRET);
    expect(await fetchesOfRemote()).toBeGreaterThan(0);
  });

  it('a GitHub push webhook queues a sync (202) and the pushed commit becomes the active version', async () => {
    const sha = await pushCommit('github1');
    const response = await sendWebhook(cp.url, 'default', {
      forge: 'github',
      secret: SECRET,
      body: pushBody(sha),
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: 'queued', jobId: expect.any(String) });
    const version = await waitForVersion(cp, sha, (v) => v.active);
    expect(version).toMatchObject({ status: 'ready', forcePush: false, message: `Add github1` });
    // Recorded with the pusher the verified webhook names, and so is its activation.
    expect(version.pushedBy).toBe('github:octo-pusher');
    const audit = await api(cp.url, cp.adminToken, 'GET', '/v1/audit?action=version.activate');
    expect(audit.body.events[0]).toMatchObject({ actor: 'github:octo-pusher', target: version.id });
  });

  it('the same delivery sent twice (even at once) makes one sync and one version', async () => {
    const sha = await pushCommit('dup');
    const count = (await listVersions(cp)).length;
    const delivery = `dup-${Date.now()}`;
    const send = () =>
      sendWebhook(cp.url, 'default', {
        forge: 'github',
        secret: SECRET,
        delivery,
        body: pushBody(sha),
      });
    const answers = await Promise.all([send(), send()]);
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    expect(answers.map((a) => a.body.status).sort()).toEqual(['duplicate', 'queued']);

    await waitForVersion(cp, sha, (v) => v.active);
    const again = await send();
    expect(again).toMatchObject({ status: 202, body: { status: 'duplicate' } });

    const versions = await listVersions(cp);
    expect(versions.length).toBe(count + 1);
    expect(versions.filter((v) => v.sha === sha)).toHaveLength(1);
    const jobs = (await syncJobs(cp)).filter(
      (j) => j.data.trigger === 'webhook' && j.data.headSha === sha,
    );
    expect(jobs).toHaveLength(1);
  });

  it('a bad signature is 401 webhook/bad_signature and queues no sync', async () => {
    const sha = await pushCommit('badsig');
    const versionsBefore = (await listVersions(cp)).length;
    const fetchesBefore = await fetchesOfRemote();
    const attempts: Array<Parameters<typeof sendWebhook>[2]> = [
      {
        forge: 'github',
        secret: SECRET,
        body: pushBody(sha),
        signature: 'sha256=' + '0'.repeat(64),
      },
      { forge: 'github', secret: 'another-secret-0123456789', body: pushBody(sha) },
      { forge: 'github', secret: SECRET, body: pushBody(sha), signature: null },
      { forge: 'gitea', secret: SECRET, body: pushBody(sha), signature: 'deadbeef' },
      { forge: 'gitlab', secret: SECRET, body: pushBody(sha), signature: 'wrong-token-0123456789' },
    ];
    for (const attempt of attempts) {
      const response = await sendWebhook(cp.url, 'default', attempt);
      expect(response.status, JSON.stringify(attempt)).toBe(401);
      expect(response.body).toMatchObject({ error: 'webhook/bad_signature' });
    }
    // Tampering with a correctly signed body is caught too.
    const signed = webhookRequest({ forge: 'github', secret: SECRET, body: pushBody(sha) });
    const tampered = await fetch(`${cp.url}/v1/webhooks/default`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.raw.replace('refs/heads/main', 'refs/heads/mainx'),
    });
    expect(tampered.status).toBe(401);

    // Nothing reached the queue or the remote, and no version was made.
    const jobs = (await syncJobs(cp)).filter(
      (j) => j.data.headSha === sha || (j.data.trigger === 'webhook' && !j.data.headSha),
    );
    expect(jobs).toEqual([]);
    expect(await fetchesOfRemote()).toBe(fetchesBefore);
    expect((await listVersions(cp)).length).toBe(versionsBefore);

    // The same push with the right signature goes through.
    const good = await sendWebhook(cp.url, 'default', {
      forge: 'github',
      secret: SECRET,
      body: pushBody(sha),
    });
    expect(good.body.status).toBe('queued');
    await waitForVersion(cp, sha, (v) => v.active);
  });

  it('accepts GitLab (X-Gitlab-Token) and Gitea (X-Gitea-Signature) push hooks', async () => {
    for (const forge of ['gitlab', 'gitea'] as Forge[]) {
      const sha = await pushCommit(forge);
      const response = await sendWebhook(cp.url, 'default', {
        forge,
        secret: SECRET,
        body: pushBody(sha),
      });
      expect(response.status, forge).toBe(202);
      expect(response.body.status, forge).toBe('queued');
      expect(await waitForVersion(cp, sha, (v) => v.active)).toMatchObject({ status: 'ready' });
    }
  });

  it('ignores pushes to other branches and non-push events (202, nothing queued)', async () => {
    const other = await sendWebhook(cp.url, 'default', {
      forge: 'github',
      secret: SECRET,
      body: pushBody('a'.repeat(40), 'refs/heads/feature'),
    });
    expect(other).toMatchObject({ status: 202, body: { status: 'ignored' } });
    const noForge = await api(
      cp.url,
      undefined,
      'POST',
      '/v1/webhooks/default',
      pushBody('a'.repeat(40)),
    );
    expect(noForge.status).toBe(400);
    expect(noForge.body.error).toBe('request/invalid');
    const unknownSource = await sendWebhook(cp.url, 'nope', {
      forge: 'github',
      secret: SECRET,
      body: pushBody('a'.repeat(40)),
    });
    expect(unknownSource.status).toBe(404);
    expect((await syncJobs(cp)).filter((j) => j.data.headSha === 'a'.repeat(40))).toEqual([]);
  });

  it('a force-push is handled: a version marked forcePush, active, and later pushes still work', async () => {
    const before = await activeVersion(cp);
    await gitOk(['reset', '--quiet', '--hard', 'HEAD~2'], work);
    const rewritten = await commit(work, validPolicyFiles('rewritten'), 'Rewrite history');
    const push = await git(['push', '--force', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toMatch(/forced update/);

    const response = await sendWebhook(cp.url, 'default', {
      forge: 'github',
      secret: SECRET,
      body: pushBody(rewritten),
    });
    expect(response.body.status).toBe('queued');
    const version = await waitForVersion(cp, rewritten, (v) => v.active);
    expect(version).toMatchObject({ status: 'ready', forcePush: true });
    expect(version.number).toBeGreaterThan(before!.number);
    // The versions of the commits force-pushed away are kept (history), just no longer active.
    expect((await listVersions(cp)).find((v) => v.sha === before!.sha)).toMatchObject({
      active: false,
    });

    const next = await pushCommit('after-force');
    await sendWebhook(cp.url, 'default', { forge: 'gitea', secret: SECRET, body: pushBody(next) });
    expect(await waitForVersion(cp, next, (v) => v.active)).toMatchObject({ forcePush: false });
    const source = await api(cp.url, cp.adminToken, 'GET', '/v1/sources/default');
    expect(source.body).toMatchObject({ lastSyncedSha: next, lastSyncError: null });
  });

  it('POST /v1/sources/default/sync (operator) answers 202 and syncs without any webhook', async () => {
    const operator = await createToken(cp, 'ops', ['operator']);
    const sha = await pushCommit('manual');
    const response = await api(cp.url, operator.token, 'POST', '/v1/sources/default/sync');
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ queued: true, jobId: expect.any(String) });
    expect(await waitForVersion(cp, sha, (v) => v.active)).toMatchObject({
      status: 'ready',
      pushedBy: 'token:ops',
    });
    const missing = await api(cp.url, operator.token, 'POST', '/v1/sources/nope/sync');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('source/not_found');
  });

  it('every manual sync after a push syncs it, even two within a few seconds', async () => {
    // Push, "sync now", repeatedly, until two of those calls fell in the same 10 s window (the
    // bucket sync job ids without a head sha are de-duplicated by): every push must be synced.
    let lastWindow: number | undefined;
    for (let i = 0; i < 6; i++) {
      const sha = await pushCommit(`manual-${i}`);
      const window = Math.floor(Date.now() / 10_000);
      const response = await api(cp.url, cp.adminToken, 'POST', '/v1/sources/default/sync');
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ queued: true });
      const outcome = await waitForVersion(cp, sha, (v) => v.active, 10_000).then(
        () => 'synced',
        () => `never synced: the 202 named job ${response.body.jobId}, which had already run`,
      );
      expect(outcome, `manual sync #${i + 1}`).toBe('synced');
      if (window === lastWindow) return;
      lastWindow = window;
    }
    throw new Error('never placed two syncs in one 10 s window');
  }, 90_000);

  it('rollback works with the remote Git server down', async () => {
    const active = await activeVersion(cp);
    await remote.close();
    const unreachable = await git(['ls-remote', remote.url]);
    expect(unreachable.status).not.toBe(0);

    const response = await api(cp.url, cp.adminToken, 'POST', '/v1/rollback', {
      reason: 'remote is down',
    });
    expect(response.status).toBe(200);
    expect(response.body.activeVersion.number).not.toBe(active!.number);
    expect((await activeVersion(cp))?.number).toBe(response.body.activeVersion.number);
    const bundle = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
    expect(bundle.body.revision).toBe(response.body.revision);

    // A sync attempt now fails and /readyz names the Git source, while the API keeps answering.
    const trigger = await sendWebhook(cp.url, 'default', {
      forge: 'github',
      secret: SECRET,
      body: pushBody('b'.repeat(40)),
    });
    expect(trigger.body.status).toBe('queued');
    await waitFor('readyz to report the Git source', async () => {
      const readyz = await api(cp.url, undefined, 'GET', '/readyz');
      return readyz.status === 503 && readyz.body.checks.git.ok === false;
    });
    expect((await activeVersion(cp))?.number).toBe(response.body.activeVersion.number);
  });
});
