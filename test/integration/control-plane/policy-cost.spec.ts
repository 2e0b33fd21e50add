/**
 * Denial of service by policy, through `git push` to the real control plane's embedded
 * repository: a commit whose conditions or tests are ruinously expensive must become a failed
 * version with a clear reason, while the control plane keeps answering /healthz throughout the
 * sync. (The six nested .all() rule used to stall the event loop for about 65 s.)
 * Real control plane process, PostgreSQL, Redis and git.
 */
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
  tempDirs,
  waitForVersion,
  type Version,
} from './support.js';

/**
 * The worker's time limit in the last suite: short, so that its slow-tests commit (and the
 * post-receive hook, which runs the same tests for the pusher) need not run for long.
 */
const SHORT_TIMEOUT_SECONDS = 2;

const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;

/** A control plane (with `env`) and a clone of its embedded repository, its seed recorded. */
async function start(env: Record<string, string> = {}): Promise<void> {
  await cp?.destroy();
  cp = await startControlPlane(env);
  work = temp.make('policy-cost');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  const head = await gitOk(['rev-parse', 'HEAD'], work);
  // Settled: a seed is recorded ready a moment before it is activated, and the tests compare
  // the active version before and after a push.
  await waitForVersion(cp, head, (v) => v.active || v.status === 'failed', 120_000);
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  temp.cleanup();
});

/**
 * Polls /healthz every 100 ms until stopped; every probe must be answered (each waits up to
 * 5 s, far more than a free event loop needs, far less than the stalls this guards against).
 */
function pollHealth(): { stop(): Promise<string[]> } {
  let running = true;
  const results: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`${cp.url}/healthz`, { signal: AbortSignal.timeout(5000) });
        results.push(response.ok ? 'ok' : `status ${response.status}`);
      } catch (error) {
        results.push(`no answer: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return results;
    },
  };
}

/** Commits `files`, pushes, and returns the recorded version, polling /healthz all along. */
async function pushAndRecord(
  files: Record<string, string | null>,
  message: string,
): Promise<{ version: Version; detail: any; pushOutput: string; health: string[] }> {
  const sha = await commit(work, files, message);
  const health = pollHealth();
  try {
    const push = await git(['push', 'origin', 'main'], work);
    expect(push.status, push.stderr).toBe(0); // accepted into Git, judged as a version
    const version = await waitForVersion(cp, sha, () => true, 120_000);
    const detail = await api(cp.url, cp.adminToken, 'GET', `/v1/versions/${version.number}`);
    return { version, detail: detail.body, pushOutput: push.stderr, health: await health.stop() };
  } finally {
    await health.stop();
  }
}

function policyFile(name: string, when: string): string {
  return [
    'apiVersion: stepgate/v1',
    'kind: Policy',
    `name: ${name}`,
    'target:',
    `  actions: ["${name}:*"]`,
    'rules:',
    '  - name: heavy',
    '    effect: allow',
    `    when: '${when}'`,
    '',
  ].join('\n');
}

function testFile(name: string, cases: number, roles: string[] = ['tester']): string {
  const lines = ['apiVersion: stepgate/v1', 'kind: TestSuite', `name: ${name} tests`, 'cases:'];
  for (let i = 0; i < cases; i++)
    lines.push(
      `  - name: case ${i}`,
      '    input:',
      `      principal: { id: p${i}, roles: ${JSON.stringify(roles)} }`,
      `      action: "${name}:run"`,
      `      resource: { kind: thing, id: t${i} }`,
      '    expect: { effect: allow }',
    );
  return `${lines.join('\n')}\n`;
}

/** ~600 characters: six nested .all() over 22-element lists, 113 million steps. */
function sixNestedAll(): string {
  const list = `[${Array.from({ length: 22 }, (_, i) => i).join(', ')}]`;
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  let body = `${names.join(' + ')} >= 0`;
  for (const name of [...names].reverse()) body = `${list}.all(${name}, ${body})`;
  return body;
}

const healthy = (health: string[]) => {
  expect(health.length).toBeGreaterThan(0);
  expect(health.filter((result) => result !== 'ok')).toEqual([]);
};

describe('a push whose policy is too costly (default limits)', () => {
  beforeAll(() => start(), 180_000);

  it('six nested .all() with a test case: refused at compile time with file, rule and line; /healthz answers throughout', async () => {
    const before = (await listVersions(cp)).find((v) => v.active);
    const { version, detail, pushOutput, health } = await pushAndRecord(
      {
        'attack/six-nested.yaml': policyFile('six-nested', sixNestedAll()),
        'attack/six-nested.test.yaml': testFile('six-nested', 1),
      },
      'Six nested comprehensions',
    );
    healthy(health);
    expect(pushOutput).toMatch(/remote: stepgate: [0-9a-f]{7} REJECTED/);
    expect(version).toMatchObject({ status: 'failed', active: false });
    expect(detail.errors).toEqual([
      expect.objectContaining({
        code: 'cel/cost',
        file: 'attack/six-nested.yaml',
        policy: 'six-nested',
        rule: 'heavy',
        line: 9,
        message: expect.stringMatching(/iterations .* cost budget of a condition is 100,000/),
      }),
    ]);
    expect((await listVersions(cp)).find((v) => v.active)?.sha).toBe(before?.sha);
  });

  it('a condition cheap to compile but over budget on its test input: the worker reports the budget error', async () => {
    const roles = Array.from({ length: 120 }, (_, i) => `role-${i}`);
    const { version, detail, health } = await pushAndRecord(
      {
        'attack/six-nested.yaml': null,
        'attack/six-nested.test.yaml': null,
        'runtime/cubic.yaml': policyFile(
          'cubic',
          'principal.roles.all(a, principal.roles.all(b, principal.roles.all(c, a + b + c != "")))',
        ),
        'runtime/cubic.test.yaml': testFile('cubic', 1, roles),
      },
      'Three nested comprehensions over the roles',
    );
    healthy(health);
    expect(detail.errors, JSON.stringify(detail.errors)).toEqual([]);
    expect(version).toMatchObject({ status: 'failed', active: false });
    expect(detail.testReport).toMatchObject({
      failed: 1,
      failures: [
        expect.objectContaining({
          file: 'runtime/cubic.test.yaml',
          failures: expect.arrayContaining([
            expect.stringMatching(/^cubic\/heavy went over its cost budget: cost budget exceeded/),
          ]),
        }),
      ],
    });
  });
});

describe(`a push whose tests take longer than STEPGATE_POLICY_TEST_TIMEOUT (${SHORT_TIMEOUT_SECONDS}s here)`, () => {
  beforeAll(() => start({ STEPGATE_POLICY_TEST_TIMEOUT: `${SHORT_TIMEOUT_SECONDS}s` }), 180_000);

  it('tests that stay within the budget but take longer than the worker time limit: failed with the reason; /healthz answers throughout', async () => {
    const list = (prefix: string, n: number) =>
      `[${Array.from({ length: n }, (_, i) => `"${prefix}${i}"`).join(', ')}]`;
    const { version, detail, health } = await pushAndRecord(
      {
        // 96,000 iterations a decision: within the budget, ~20 ms each, times 300 cases.
        'data/pairs.yaml': `a: ${list('a', 300)}\nb: ${list('b', 320)}\n`,
        'slow/pairs.yaml': policyFile('pairs', 'data.pairs.a.all(x, data.pairs.b.all(y, x != y))'),
        'slow/pairs.test.yaml': testFile('pairs', 300),
      },
      'Slow tests over a big data document',
    );
    healthy(health);
    expect(version).toMatchObject({ status: 'failed', active: false });
    expect(detail.errors).toEqual([
      expect.objectContaining({
        code: 'test/limit',
        message: expect.stringMatching(
          new RegExp(`^policy tests did not finish within ${SHORT_TIMEOUT_SECONDS} s`),
        ),
      }),
    ]);
  });
});
