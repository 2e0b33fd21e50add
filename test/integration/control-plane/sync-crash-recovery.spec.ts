/**
 * A control plane killed between recording a pushed version and activating it must not strand
 * the push: the next sync (at start-up) activates the head it never activated. The crash is
 * reproduced deterministically: a control plane with auto-activation off records the version,
 * then the source pointer is moved back in the database to where a crashed sync leaves it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  activeVersion,
  api,
  commit,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  tempDirs,
  validPolicyFiles,
  waitFor,
  waitForVersion,
} from './support.js';

const temp = tempDirs();
let first: ControlPlaneProcess;
let second: ControlPlaneProcess | undefined;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  first = await startControlPlane({ STEPGATE_AUTO_ACTIVATE: 'false' });
}, 120_000);

afterAll(async () => {
  await second?.destroy();
  await first?.destroy();
  temp.cleanup();
});

async function setSourcePointer(cp: ControlPlaneProcess, sha: string): Promise<void> {
  const db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  try {
    await db.query('UPDATE policy_source SET last_synced_sha = $1', [sha]);
  } finally {
    await db.end();
  }
}

describe('sync interrupted after recording a version', () => {
  it('activates the never-activated head on the next sync, and never re-activates one rolled back from', async () => {
    const work = temp.make('crash-clone');
    await gitOk(['clone', '--quiet', embeddedRepoUrl(first, first.adminToken), work]);
    const seedSha = await gitOk(['rev-parse', 'HEAD'], work);
    await waitForVersion(first, seedSha, (v) => v.status === 'ready');
    const headSha = await commit(work, validPolicyFiles('crash'), 'pushed just before a crash');
    const push = await git(['push', '--quiet', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    const recorded = await waitForVersion(first, headSha, (v) => v.status === 'ready');
    expect(recorded.active).toBe(false);
    await first.stop();
    // What a kill -9 between "version recorded" and "activated + pointer moved" leaves behind.
    await setSourcePointer(first, seedSha);

    second = await startControlPlane({}, { replicaOf: first });
    await waitFor('the stranded head to be activated', async () => {
      const active = await activeVersion(second!);
      return active?.sha === headSha;
    });
    // An operator moves back to the seed; a later sync that finds the pointer behind again (a second crash)
    // must not re-activate a head that was activated once: that would undo the operator's move.
    const rollback = await api(
      second.url,
      second.adminToken,
      'POST',
      `/v1/versions/${seedSha}/activate`,
      { reason: 'back to the seed' },
    );
    expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
    expect((await activeVersion(second))?.sha).toBe(seedSha);
    await setSourcePointer(second, seedSha);
    const sync = await api(second.url, second.adminToken, 'POST', '/v1/sources/default/sync', {});
    expect(sync.status, JSON.stringify(sync.body)).toBeLessThan(300);
    await waitFor('the sync to move the source pointer to the head', async () => {
      const db = new pg.Client({ connectionString: second!.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query<{ last_synced_sha: string }>(
          'SELECT last_synced_sha FROM policy_source',
        );
        return rows[0]?.last_synced_sha === headSha;
      } finally {
        await db.end();
      }
    });
    expect((await activeVersion(second))?.sha).toBe(seedSha);
  }, 120_000);
});
