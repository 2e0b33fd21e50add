/**
 * The admin commands end to end: the built CLI (apps/cli/dist/main.js) as a real process against
 * a real control plane whose embedded repository gets a valid push and a broken one. The CLI
 * parses every answer with the protocol's schemas, so each command exiting 0 means the real
 * answer matched the contract; the --json output is parsed with the same schemas here and the
 * fields the hand-written copy once got wrong are checked: `from` of an activation, the null
 * `shadowVersion` of shadow --off, and the `line` of a version error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activationResponseSchema,
  shadowOffResponseSchema,
  shadowResponseSchema,
  versionDetailSchema,
} from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import {
  brokenCel,
  commit,
  createToken,
  ensureControlPlaneBuilt,
  git,
  readText,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from '../integration/control-plane/support.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;

let cp: ControlPlaneProcess;
let work = '';
let operator = '';
/** The seed (active first), a valid push (active after it) and a broken push (failed). */
let seed: Version;
let valid: Version;
let broken: Version;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the test's STEPGATE_* settings, never the developer's. */
function stepgate(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('STEPGATE_') && key !== 'FORCE_COLOR') env[key] = value;
  }
  Object.assign(env, { NO_COLOR: '1', STEPGATE_URL: cp.url, STEPGATE_TOKEN: operator });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The --json output of a command that must succeed. */
async function json(args: string[]): Promise<unknown> {
  const run = await stepgate([...args, '--json']);
  const shown = `stepgate ${args.join(' ')} -> exit ${run.status}\n${run.stdout}\n${run.stderr}`;
  expect(run.status, shown).toBe(0);
  expect(run.stderr, shown).not.toMatch(STACK_FRAME);
  return JSON.parse(run.stdout) as unknown;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  // The CLI under test is the current source.
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'apps/cli/tsconfig.json'],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (build.status !== 0 && !existsSync(CLI)) {
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  }
  cp = await startControlPlane();
  operator = (await createToken(cp, 'cli-release-manager', ['operator'])).token;
  work = mkdtempSync(join(tmpdir(), 'stepgate-cli-admin-'));
  const clone = join(work, 'policies');
  seed = await cloneEmbedded(cp, clone);
  valid = await pushPolicies(cp, clone, validPolicyFiles('cli-admin'), 'CLI admin: valid');
  const path = 'api/admin-step-up.yaml';
  const sha = await commit(clone, { [path]: brokenCel(readText(clone, path)) }, 'Broken CEL');
  const push = await git(['push', '--quiet', 'origin', 'main'], clone);
  if (push.status !== 0) throw new Error(`git push failed:\n${push.stderr}`);
  broken = await waitForVersion(cp, sha, (v) => v.status === 'failed');
}, 300_000);

afterAll(async () => {
  await cp?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the admin commands read the real control plane with the protocol schemas', () => {
  it('versions <failed>: the errors carry the line of the broken rule', async () => {
    const detail = versionDetailSchema.parse(await json(['versions', String(broken.number)]));
    expect(detail.status).toBe('failed');
    const cel = detail.errors.find((error) => error.file === 'api/admin-step-up.yaml');
    expect(cel, JSON.stringify(detail.errors)).toBeDefined();
    expect(typeof cel!.line).toBe('number');
  });

  it('activate answers with the version it replaced in `from`', async () => {
    const result = activationResponseSchema.parse(
      await json(['activate', String(seed.number), '--reason', 'cli contract']),
    );
    expect(result.activeVersion).toMatchObject({ number: seed.number, active: true });
    expect(result.from).toMatchObject({ number: valid.number, active: false });
  });

  it('rollback names where it came from too', async () => {
    const result = activationResponseSchema.parse(
      await json(['rollback', '--reason', 'cli contract']),
    );
    expect(result.activeVersion.number).toBe(valid.number);
    expect(result.from?.number).toBe(seed.number);
  });

  it('shadow sets a version, shadow --off answers shadowVersion: null', async () => {
    const set = shadowResponseSchema.parse(await json(['shadow', String(seed.number)]));
    expect(set.shadowVersion).toMatchObject({ number: seed.number, shadow: true });
    const off = shadowOffResponseSchema.parse(await json(['shadow', '--off']));
    expect(off.shadowVersion).toBeNull();
    expect(off.revision).toBeGreaterThan(set.revision);
  });
});
