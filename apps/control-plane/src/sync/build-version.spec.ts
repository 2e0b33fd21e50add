import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHashOf } from '@stepgate/protocol';
import { buildVersion, type BuildLimits } from './build-version.js';

const REPO = join(import.meta.dirname, '../../../..');
const POLICIES = join(REPO, 'policies');
const LIMITS: BuildLimits = { maxBundleBytes: 8 * 1024 * 1024, timeoutSeconds: 60, memoryMb: 512 };

function readTree(dir: string): { path: string; content: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return readTree(full);
    return [{ path: relative(POLICIES, full), content: readFileSync(full, 'utf8') }];
  });
}

function tsc(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO, 'node_modules/typescript/bin/tsc'), ...args],
      {
        cwd: REPO,
        stdio: 'pipe',
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`tsc ${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}

/**
 * The worker runs as plain JavaScript, as in dist: compile its entry (and what it imports) into
 * a temp dir laid out like dist, with node_modules linked so '@stepgate/policy' is the built
 * package (built here first).
 */
async function compileWorker(outRoot: string): Promise<string> {
  await tsc(['-b', 'packages/policy/tsconfig.json']);
  const controlPlane = join(REPO, 'apps/control-plane');
  symlinkSync(join(REPO, 'node_modules'), join(outRoot, 'node_modules'), 'dir');
  writeFileSync(
    join(outRoot, 'tsconfig.json'),
    JSON.stringify({
      extends: join(controlPlane, 'tsconfig.json'),
      compilerOptions: {
        rootDir: join(controlPlane, 'src'),
        outDir: join(outRoot, 'dist'),
        composite: false,
        incremental: false,
        declaration: false,
        declarationMap: false,
      },
      files: [join(controlPlane, 'src/sync/build-version.worker.ts')],
      include: [],
      references: [],
    }),
  );
  await tsc(['-p', join(outRoot, 'tsconfig.json')]);
  const script = join(outRoot, 'dist/sync/build-version.worker.js');
  if (!existsSync(script)) throw new Error(`tsc did not write ${script}`);
  return script;
}

let out: string;
let worker: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'stepgate-build-worker-'));
  worker = await compileWorker(out);
}, 180_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** A policy whose condition costs ~99,000 iterations (within budget) and `cases` tests of it. */
function slowTests(cases: number): { path: string; content: string }[] {
  const list = (prefix: string, n: number) =>
    `[${Array.from({ length: n }, (_, i) => `"${prefix}${i}"`).join(', ')}]`;
  return [
    { path: 'data/lists.yaml', content: `a: ${list('a', 300)}\nb: ${list('b', 320)}\n` },
    {
      path: 'slow.yaml',
      content: `apiVersion: stepgate/v1
kind: Policy
name: slow
rules:
  - name: pairs
    effect: allow
    when: 'data.lists.a.all(x, data.lists.b.all(y, x != y))'
`,
    },
    {
      path: 'slow.test.yaml',
      content: `apiVersion: stepgate/v1
kind: TestSuite
name: slow
cases:
${Array.from(
  { length: cases },
  (_, i) => `  - name: case ${i}
    input:
      principal: { id: p${i} }
      action: read
      resource: { kind: doc, id: d${i} }
    expect: { effect: allow }
`,
).join('')}`,
    },
  ];
}

describe('buildVersion', () => {
  const files = readTree(POLICIES);

  it('makes the example repository a ready version with a bundle hash agents can check', async () => {
    const built = await buildVersion(files, LIMITS, worker);
    expect(built.status).toBe('ready');
    expect(built.testReport?.failed).toBe(0);
    expect(built.testReport?.passed).toBeGreaterThanOrEqual(40);
    expect(built.bundleHash).toBe(await bundleHashOf(built.policySet));
    expect(built.size).toBeGreaterThan(1000);
  });

  it('fails a version whose bundle is over the size budget, and ships no policy set', async () => {
    const built = await buildVersion(files, { ...LIMITS, maxBundleBytes: 1000 }, worker);
    expect(built.status).toBe('failed');
    expect(built.errors[0]?.message).toMatch(/budget is 1000/);
    expect(built.policySet).toBeNull();
  });

  it('fails a version whose policy test fails, naming the case', async () => {
    const broken = files.map((f) =>
      f.path === 'cicd/production-deploys.test.yaml'
        ? { ...f, content: f.content.replace('effect: allow', 'effect: deny') }
        : f,
    );
    const built = await buildVersion(broken, LIMITS, worker);
    expect(built.status).toBe('failed');
    expect(built.testReport?.failed).toBe(1);
    expect(built.testReport?.failures[0]?.file).toBe('cicd/production-deploys.test.yaml');
  });

  it('fails a version that does not compile, keeping every error', async () => {
    const broken = files.map((f) =>
      f.path === 'stepgate.yaml' ? { ...f, content: `${f.content}\nbogus: 1\n` } : f,
    );
    const built = await buildVersion(broken, LIMITS, worker);
    expect(built.status).toBe('failed');
    expect(built.errors.map((e) => e.code)).toContain('schema/invalid');
    expect(built.testReport).toBeNull();
  });

  it('stops tests that take longer than the time limit, and the event loop runs meanwhile', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    try {
      const built = await buildVersion(slowTests(400), { ...LIMITS, timeoutSeconds: 1 }, worker);
      expect(built).toMatchObject({ status: 'failed', policySet: null, testReport: null });
      expect(built.errors).toEqual([
        expect.objectContaining({
          code: 'test/limit',
          message: expect.stringMatching(/^policy tests did not finish within 1 s/),
        }),
      ]);
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThan(5);
  });

  it('stops a commit that needs more memory than the limit', async () => {
    const big = `blob: "${'x'.repeat(48 * 1024 * 1024)}"\n`;
    const built = await buildVersion(
      [...files, { path: 'data/blob.yaml', content: big }],
      { ...LIMITS, memoryMb: 64 },
      worker,
    );
    expect(built.status).toBe('failed');
    expect(built.errors[0]?.message).toMatch(/ran out of memory \(the limit is 64 MiB/);
  });
});
