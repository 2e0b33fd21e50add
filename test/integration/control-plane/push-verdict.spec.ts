/**
 * One verdict per push: what `git push` tells the pusher about the pushed commit is the verdict
 * the control plane stores for it, computed once (compile, policy tests, bundle size budget).
 * A real `git` client pushes to the real Git HTTP server of a real control plane process, with
 * a small bundle budget so a commit can pass its tests and still be over it.
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
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  syncJobs,
  tempDirs,
  validPolicyFiles,
  waitForVersion,
} from './support.js';

/** The example bundle is ~20 KiB: it fits, and 4,000 more list entries do not. */
const BUDGET = 96 * 1024;
const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane({ STEPGATE_MAX_BUNDLE_BYTES: String(BUDGET) });
  work = temp.make('push-verdict');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

/** The `remote: stepgate: ...` lines of a push, without the prefix git adds. */
function reportLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('remote: stepgate:'))
    .map((line) => line.replace(/^remote: /, '').trimEnd());
}

async function setTrackedBranch(branch: string): Promise<void> {
  const db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  try {
    await db.query(`UPDATE policy_source SET branch = $1 WHERE id = 'default'`, [branch]);
  } finally {
    await db.end();
  }
}

describe('the verdict a push is told is the verdict the control plane stores', () => {
  it('a commit that passes its tests but is over the bundle size budget: REJECTED, stored failed for that reason', async () => {
    const big = Array.from({ length: 4000 }, (_, i) => `"entry-${String(i).padStart(20, '0')}"`);
    const sha = await commit(
      work,
      { 'data/oversized.yaml': `items: [${big.join(', ')}]\n` },
      'Add a big data document',
    );
    try {
      const push = await git(['push', 'origin', 'HEAD:main'], work);
      expect(push.status, push.stderr).toBe(0);
      const lines = reportLines(push.stderr);
      expect(lines[0]).toBe(`stepgate: ${sha.slice(0, 7)} REJECTED as a version: 1 error`);
      expect(push.stderr).not.toContain('will be activated');

      const version = await waitForVersion(cp, sha);
      expect(version).toMatchObject({ status: 'failed', active: false, errorCount: 1 });
      expect(version.tests).toMatchObject({ failed: 0 });
      expect(version.tests!.passed).toBeGreaterThan(10);
      const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${version.number}`);
      const [error] = detail.body.errors as { message: string }[];
      expect(error!.message).toMatch(
        new RegExp(`the budget is ${BUDGET} \\(STEPGATE_MAX_BUNDLE_BYTES\\)`),
      );
      // The pusher read the stored reason itself.
      expect(lines[1]).toContain(error!.message);
      // The sync was asked for the pushed commit, by its id from the ref update.
      expect((await syncJobs(cp)).map((job) => job.data.headSha)).toContain(sha);
    } finally {
      await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], work);
    }
  });

  it('follows the tracked branch whatever it is called: a push to it is judged and synced, main is not', async () => {
    await setTrackedBranch('trunk');
    try {
      const sha = await commit(work, validPolicyFiles('trunk1'), 'Add the it-trunk1 policy');
      const push = await git(['push', 'origin', 'HEAD:refs/heads/trunk'], work);
      expect(push.status, push.stderr).toBe(0);
      // The verdict, then the impact of its replay (or the command to see it).
      expect(reportLines(push.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^stepgate: ${sha.slice(0, 7)} compiles, \\d+ tests passed — it will be activated`,
          ),
        ),
        expect.stringMatching(/replayed against the last 24 h|see it with: stepgate versions/),
      ]);
      expect(await waitForVersion(cp, sha, (v) => v.active)).toMatchObject({ status: 'ready' });
      expect((await syncJobs(cp)).map((job) => job.data.headSha)).toContain(sha);

      const onMain = await commit(work, validPolicyFiles('main1'), 'Add the it-main1 policy');
      const pushMain = await git(['push', '--force', 'origin', 'HEAD:refs/heads/main'], work);
      expect(pushMain.status, pushMain.stderr).toBe(0);
      expect(reportLines(pushMain.stderr)).toEqual([
        'stepgate: refs/heads/main is not the tracked branch (trunk); not checked',
      ]);
      expect((await syncJobs(cp)).map((job) => job.data.headSha)).not.toContain(onMain);
    } finally {
      await setTrackedBranch('main');
    }
  });
});
