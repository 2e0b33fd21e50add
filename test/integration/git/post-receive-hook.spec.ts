/**
 * The embedded repository end to end: seeded by ensureEmbeddedRepository, served over smart HTTP
 * with the admin token as the password, and its post-receive hook (the compiled
 * post-receive-report.js, run by plain `node`) telling the pusher about each pushed commit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, formatCompileError } from '@stepgate/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedRepository } from '../../../apps/control-plane/src/git/embedded-repository.js';
import { GitHttpTestServer, type RunningGitHttpServer } from '../../support/git-http-server.js';
import { examplePolicies, git, gitOk, tempDirs, withCredentials } from './git-fixtures.js';
import { buildPostReceiveReport } from './hook-build.js';

const TOKEN = 'sg_admin_0123456789';
/** Small limits, so the tests can reach them: the example bundle is ~20 KiB. */
const HOOK_LIMITS = { maxBundleBytes: 96 * 1024, timeoutSeconds: 2, memoryMb: 256 };
const temp = tempDirs();
let server: RunningGitHttpServer;
let bare: string;
let work: string;

beforeAll(async () => {
  const hookScript = await buildPostReceiveReport(temp.make('hook-build'));
  const root = temp.make('hook');
  const repo = await ensureEmbeddedRepository(join(root, 'git', 'policies.git'), {
    seedFrom: examplePolicies,
    hookScript,
    limits: HOOK_LIMITS,
  });
  bare = repo.dir;
  server = await new GitHttpTestServer({
    repoDir: bare,
    auth: { username: 'admin', password: TOKEN },
  }).start();
  work = join(root, 'work');
  const clone = await git(['clone', '--quiet', withCredentials(server.url, 'admin', TOKEN), work]);
  expect(clone.status, clone.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await server?.close();
  temp.cleanup();
});

function edit(path: string, from: string, to: string): void {
  const file = join(work, path);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

async function commitAndPush(
  message: string,
  ref = 'main',
): Promise<{ sha: string; stderr: string }> {
  await gitOk(['commit', '--quiet', '--all', '-m', message], { cwd: work });
  const sha = await gitOk(['rev-parse', 'HEAD'], { cwd: work });
  const push = await git(['push', '--force', 'origin', `HEAD:refs/heads/${ref}`], { cwd: work });
  expect(push.status, push.stderr).toBe(0);
  return { sha, stderr: push.stderr };
}

async function serverHead(ref = 'main'): Promise<string> {
  return gitOk(['--git-dir', bare, 'rev-parse', `refs/heads/${ref}`]);
}

describe('the post-receive report', () => {
  it('tells the pusher a good commit compiles and how many tests passed', async () => {
    edit('api/admin-step-up.yaml', 'Reads are never', 'Reads are not');
    const { sha, stderr } = await commitAndPush('Reword the admin policy');
    expect(stderr).toMatch(
      new RegExp(
        `^remote: stepgate: ${sha.slice(0, 7)} compiles, \\d+ tests passed — it will be activated if auto-activate is on\\s*$`,
        'm',
      ),
    );
    expect(await serverHead()).toBe(sha);
  });

  it('accepts a push with a broken CEL expression but reports it REJECTED with file:line', async () => {
    edit('api/admin-step-up.yaml', 'context.ip.inCidr(', 'context.ip.inCidr((');
    const { sha, stderr } = await commitAndPush('Break a condition');

    expect(stderr).toMatch(
      new RegExp(
        `^remote: stepgate: ${sha.slice(0, 7)} REJECTED as a version: \\d+ errors?\\s*$`,
        'm',
      ),
    );
    expect(stderr).toMatch(/^remote: stepgate: {3}api\/admin-step-up\.yaml:\d+(:\d+)? /m);
    // The same errors the compiler reports for this tree, one per line.
    const files = ['api/admin-step-up.yaml'].map((path) => ({
      path,
      content: readFileSync(join(work, path), 'utf8'),
    }));
    const celError = compile(files).errors.find((e) => e.code.startsWith('cel/'));
    expect(celError).toBeDefined();
    expect(stderr).toContain(`remote: stepgate:   ${formatCompileError(celError!)}`);
    expect(await serverHead()).toBe(sha); // the push itself went through
    await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
  });

  it('reports failing policy tests by case', async () => {
    edit(
      'api/admin-step-up.test.yaml',
      'expect: { effect: allow, rule: api-access/api-admins }',
      'expect: { effect: deny, rule: api-access/api-admins }',
    );
    const { sha, stderr } = await commitAndPush('Expect the wrong thing');
    expect(stderr).toMatch(
      new RegExp(
        `^remote: stepgate: ${sha.slice(0, 7)} REJECTED as a version: 1 of \\d+ tests failed`,
        'm',
      ),
    );
    expect(stderr).toMatch(
      /^remote: stepgate: {3}api\/admin-step-up\.test\.yaml:\d+ An admin creating a user from the office during working hours needs no step-up: expected effect deny, got allow/m,
    );
    expect(await serverHead()).toBe(sha);
    await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
  });

  it('rejects a commit over the bundle size budget, as the sync will, instead of promising activation', async () => {
    const big = Array.from({ length: 4000 }, (_, i) => `"entry-${String(i).padStart(20, '0')}"`);
    writeFileSync(join(work, 'data/oversized.yaml'), `items: [${big.join(', ')}]\n`);
    await gitOk(['add', 'data/oversized.yaml'], { cwd: work });
    const { sha, stderr } = await commitAndPush('Add a big data document');
    expect(stderr).toMatch(
      new RegExp(`^remote: stepgate: ${sha.slice(0, 7)} REJECTED as a version: 1 error\\s*$`, 'm'),
    );
    expect(stderr).toMatch(/the budget is 98304 \(STEPGATE_MAX_BUNDLE_BYTES\)/);
    expect(stderr).not.toContain('will be activated');
    await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
  });

  it('stops judging a commit whose tests run past the time limit, and says so', async () => {
    const list = (prefix: string, n: number) =>
      `[${Array.from({ length: n }, (_, i) => `"${prefix}${i}"`).join(', ')}]`;
    // ~96,000 comprehension steps a decision (within the cost budget), times 400 cases.
    writeFileSync(join(work, 'data/pairs.yaml'), `a: ${list('a', 300)}\nb: ${list('b', 320)}\n`);
    writeFileSync(
      join(work, 'slow.yaml'),
      [
        'apiVersion: stepgate/v1',
        'kind: Policy',
        'name: slow-pairs',
        'target: { actions: ["slow:pairs"] }',
        'rules:',
        '  - name: distinct',
        '    effect: allow',
        "    when: 'data.pairs.a.all(x, data.pairs.b.all(y, x != y))'",
        '',
      ].join('\n'),
    );
    const cases = Array.from(
      { length: 400 },
      (_, i) =>
        `  - name: case ${i}\n    input: { principal: { id: p${i} }, action: "slow:pairs", resource: { kind: k, id: r } }\n    expect: { effect: allow }`,
    );
    writeFileSync(
      join(work, 'slow.test.yaml'),
      `apiVersion: stepgate/v1\nkind: TestSuite\nname: slow pairs\ncases:\n${cases.join('\n')}\n`,
    );
    await gitOk(['add', 'data/pairs.yaml', 'slow.yaml', 'slow.test.yaml'], { cwd: work });
    const { sha, stderr } = await commitAndPush('Slow policy tests');
    expect(stderr).toMatch(
      new RegExp(`^remote: stepgate: ${sha.slice(0, 7)} REJECTED as a version: 1 error\\s*$`, 'm'),
    );
    expect(stderr).toMatch(/policy tests did not finish within 2 s/);
    await gitOk(['reset', '--quiet', '--hard', 'HEAD~1'], { cwd: work });
  });

  it('does not check other branches', async () => {
    edit('api/admin-step-up.yaml', 'Reads are not', 'Reads are never');
    const { sha, stderr } = await commitAndPush('On a branch', 'feature');
    expect(stderr).toContain(
      'remote: stepgate: refs/heads/feature is not the tracked branch (main); not checked',
    );
    expect(stderr).not.toContain('compiles');
    expect(await serverHead('feature')).toBe(sha);
  });
});
