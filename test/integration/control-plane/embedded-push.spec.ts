/**
 * The embedded policy repository with the real `git` client: clone it with the admin token,
 * push valid, uncompilable and test-failing changes, and push without or with too weak a token.
 * Real control plane process, PostgreSQL and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  activeVersion,
  api,
  brokenCel,
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  failingTest,
  git,
  gitOk,
  listVersions,
  readText,
  syncJobs,
  tempDirs,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from './support.js';

const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;
let seed: Version;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  work = temp.make('embedded-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

/** The pushed head as the server has it (read with the admin token). */
async function serverHead(): Promise<string> {
  const out = await gitOk(['ls-remote', embeddedRepoUrl(cp, cp.adminToken), 'refs/heads/main']);
  return out.split(/\s+/)[0]!;
}

async function resetToServer(): Promise<void> {
  await gitOk(['fetch', '--quiet', 'origin'], work);
  await gitOk(['reset', '--quiet', '--hard', 'origin/main'], work);
}

describe('embedded repository + git push', () => {
  it('starts with the seeded example policies as version 1, ready and active', async () => {
    const head = await gitOk(['rev-parse', 'HEAD'], work);
    seed = await waitForVersion(cp, head, (v) => v.active);
    expect(seed).toMatchObject({ number: 1, status: 'ready', active: true, errorCount: 0 });
    expect(seed.tests?.failed).toBe(0);
    expect(seed.tests?.passed).toBeGreaterThan(10);
    expect(await gitOk(['ls-files'], work)).toContain('stepgate.yaml');
  });

  it('a valid push becomes a new ready version and is activated; the push output says it compiles', async () => {
    const sha = await commit(work, validPolicyFiles('valid1'), 'Add the it-valid1 policy');
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toMatch(new RegExp(`remote: stepgate: ${sha.slice(0, 7)} compiles`));

    const version = await waitForVersion(cp, sha, (v) => v.active);
    expect(version).toMatchObject({
      number: seed.number + 1,
      status: 'ready',
      active: true,
      author: 'Alice Example',
      message: 'Add the it-valid1 policy',
      errorCount: 0,
    });
    const versions = await listVersions(cp);
    expect(versions.filter((v) => v.active).map((v) => v.sha)).toEqual([sha]);
    expect(versions.find((v) => v.sha === seed.sha)?.active).toBe(false);

    const bundle = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
    expect(bundle.status).toBe(200);
    expect(bundle.body.versionNumber).toBe(version.number);
  });

  it('a push with a broken CEL expression is recorded as failed with located errors; active unchanged', async () => {
    const before = await activeVersion(cp);
    const path = 'api/admin-step-up.yaml';
    const sha = await commit(work, { [path]: brokenCel(readText(work, path)) }, 'Break CEL');
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0); // accepted into Git, refused as a version
    expect(push.stderr).toMatch(new RegExp(`remote: stepgate: ${sha.slice(0, 7)} REJECTED`));
    expect(push.stderr).toContain('api/admin-step-up.yaml');

    const failed = await waitForVersion(cp, sha);
    expect(failed).toMatchObject({ status: 'failed', active: false });
    expect(failed.errorCount).toBeGreaterThan(0);
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${failed.number}`);
    expect(detail.status).toBe(200);
    expect(detail.body.errors).toContainEqual(
      expect.objectContaining({
        code: expect.stringMatching(/^cel\//),
        file: path,
        // The line of the broken rule's condition in the example file (after its modeline).
        line: readText(work, path).split('\n').indexOf('  - name: untrusted-network') + 3,
        policy: 'api-admin-step-up',
        rule: 'untrusted-network',
      }),
    );
    // The detail is reachable by sha prefix as well.
    const bySha = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${sha.slice(0, 10)}`);
    expect(bySha.body.number).toBe(failed.number);

    expect((await activeVersion(cp))?.sha).toBe(before?.sha);
    const bundle = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
    expect(bundle.body.versionNumber).toBe(before?.number);
  });

  it('a push whose policy test fails is recorded as failed with the test report; active unchanged', async () => {
    const before = await activeVersion(cp);
    // Restore the policy, and flip one expectation in its test suite.
    await resetToServer();
    await gitOk(['checkout', seed.sha, '--', 'api/admin-step-up.yaml'], work);
    const testPath = 'api/admin-step-up.test.yaml';
    const sha = await commit(
      work,
      { [testPath]: failingTest(readText(work, testPath)) },
      'Fix the CEL; expect the wrong effect',
    );
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toMatch(
      /remote: stepgate: [0-9a-f]{7} REJECTED as a version: 1 of \d+ tests failed/,
    );
    expect(push.stderr).toContain(testPath);

    const failed = await waitForVersion(cp, sha);
    expect(failed).toMatchObject({ status: 'failed', active: false, errorCount: 0 });
    expect(failed.tests?.failed).toBe(1);
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${failed.number}`);
    expect(detail.body.testReport).toMatchObject({
      failed: 1,
      failures: [
        expect.objectContaining({
          file: testPath,
          name: 'An admin creating a user from the office during working hours needs no step-up',
          failures: [expect.any(String)],
        }),
      ],
    });
    expect((await activeVersion(cp))?.sha).toBe(before?.sha);

    // A fixing push on top is ready and activated again: failed versions never block the branch.
    const fixed = await commit(
      work,
      {
        [testPath]: readText(work, testPath).replace(
          'effect: deny, rule: api-access',
          'effect: allow, rule: api-access',
        ),
      },
      'Fix the test',
    );
    const push2 = await git(['push', 'origin', 'main'], work);
    expect(push2.status, push2.stderr).toBe(0);
    expect(await waitForVersion(cp, fixed, (v) => v.active)).toMatchObject({ status: 'ready' });
  });

  it('a push without a token is refused (401) and records no version', async () => {
    const versionsBefore = (await listVersions(cp)).length;
    const headBefore = await serverHead();
    const sha = await commit(work, validPolicyFiles('anonymous'), 'Anonymous change');

    const push = await git(['push', embeddedRepoUrl(cp), 'HEAD:main'], work);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/Authentication failed|could not read Username|401/);
    const probe = await fetch(`${cp.url}/git/policies.git/info/refs?service=git-receive-pack`);
    expect(probe.status).toBe(401);
    expect(probe.headers.get('www-authenticate')).toMatch(/^Basic /);
    // A wrong password is no better.
    const wrong = await git(
      ['push', embeddedRepoUrl(cp, 'sg_not_a_real_token_000000'), 'HEAD:main'],
      work,
    );
    expect(wrong.status).not.toBe(0);

    expect(await serverHead()).toBe(headBefore);
    expect((await listVersions(cp)).length).toBe(versionsBefore);
    expect((await listVersions(cp)).some((v) => v.sha === sha)).toBe(false);
    expect((await syncJobs(cp)).filter((job) => job.data.headSha === sha)).toEqual([]);
  });

  it('a push with a viewer token is refused (403) though the viewer may clone; no version', async () => {
    const viewer = await createToken(cp, 'git-viewer', ['viewer']);
    const operator = await createToken(cp, 'git-operator', ['operator']);
    const versionsBefore = (await listVersions(cp)).length;
    const headBefore = await serverHead();
    const sha = await gitOk(['rev-parse', 'HEAD'], work);

    const readable = temp.make('viewer-clone');
    await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, viewer.token), readable]);
    expect(await gitOk(['rev-parse', 'HEAD'], readable)).toBe(headBefore);

    for (const token of [viewer.token, operator.token]) {
      const push = await git(['push', embeddedRepoUrl(cp, token), 'HEAD:main'], work);
      expect(push.status).not.toBe(0);
      expect(push.stderr).toMatch(/403/);
    }
    const probe = await fetch(`${cp.url}/git/policies.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${viewer.token}`).toString('base64')}` },
    });
    expect(probe.status).toBe(403);
    expect(await probe.text()).toMatch(/needs admin/);

    expect(await serverHead()).toBe(headBefore);
    expect((await listVersions(cp)).length).toBe(versionsBefore);
    expect((await syncJobs(cp)).filter((job) => job.data.headSha === sha)).toEqual([]);
  });

  it('a push with Entities documents is a ready version whose bundle carries them; a duplicate is REJECTED at its line', async () => {
    await resetToServer();
    const entities = (name: string, body: string) =>
      `apiVersion: stepgate/v1\nkind: Entities\nname: ${name}\n${body}`;
    const sha = await commit(
      work,
      {
        'entities/people.yaml': entities(
          'people',
          'subjects:\n  - { type: user, id: alice }\n  - { type: user, id: bob, properties: { role: admin } }\nactions: [read]\n',
        ),
        'entities/records.yaml': entities(
          'records',
          'resources:\n  - { type: record, id: record-1, properties: { status: active } }\n',
        ),
      },
      'Declare the search entities',
    );
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toMatch(new RegExp(`remote: stepgate: ${sha.slice(0, 7)} compiles`));
    const version = await waitForVersion(cp, sha, (v) => v.active);
    const bundle = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
    expect(bundle.body.versionNumber).toBe(version.number);
    const payload = JSON.parse(
      Buffer.from((bundle.body.jws as string).split('.')[1]!, 'base64url').toString('utf8'),
    );
    // The pushed declarations, after the example repository's own (policies/entities.yaml).
    const declared = payload.policySet.entities;
    expect(declared.subjects.slice(-2)).toEqual([
      { type: 'user', id: 'alice' },
      { type: 'user', id: 'bob', properties: { role: 'admin' } },
    ]);
    expect(declared.resources.slice(-1)).toEqual([
      { type: 'record', id: 'record-1', properties: { status: 'active' } },
    ]);
    expect(declared.actions).toContain('read');

    const duplicate = await commit(
      work,
      { 'entities/zz-more.yaml': entities('more', 'subjects:\n  - { type: user, id: bob }\n') },
      'Declare bob twice',
    );
    const refused = await git(['push', 'origin', 'main'], work);
    expect(refused.status, refused.stderr).toBe(0);
    expect(refused.stderr).toMatch(
      new RegExp(`remote: stepgate: ${duplicate.slice(0, 7)} REJECTED`),
    );
    expect(refused.stderr).toContain('entities/zz-more.yaml');
    const failed = await waitForVersion(cp, duplicate);
    expect(failed).toMatchObject({ status: 'failed', active: false });
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${failed.number}`);
    expect(detail.body.errors).toEqual([
      expect.objectContaining({
        code: 'entity/duplicate',
        file: 'entities/zz-more.yaml',
        line: 5,
        message: expect.stringContaining('already declared at entities/people.yaml:6'),
      }),
    ]);
    expect((await activeVersion(cp))?.sha).toBe(sha);
  });
});
