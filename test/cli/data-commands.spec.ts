/**
 * `stepgate data` end to end: the built CLI as a real process against a real control plane
 * whose active version declares a live document. Writes go through with a reason and a data
 * token, the --json output parses with the protocol's schemas, and refusals are one line with
 * an exit code, never a stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  liveDataHistoryResponseSchema,
  liveDataWriteResponseSchema,
  liveDocumentResponseSchema,
} from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import {
  createToken,
  ensureControlPlaneBuilt,
  readText,
} from '../integration/control-plane/support.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;
const ENTRY = '  cli_blocked:\n    schema: live-schemas/cli-blocked.json\n    default: []\n';

let cp: ControlPlaneProcess;
let work = '';
let token = '';

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
  Object.assign(env, { NO_COLOR: '1', STEPGATE_URL: cp.url, STEPGATE_TOKEN: token });
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

async function json(args: string[]): Promise<unknown> {
  const run = await stepgate([...args, '--json']);
  const shown = `stepgate ${args.join(' ')} -> exit ${run.status}\n${run.stdout}\n${run.stderr}`;
  expect(run.status, shown).toBe(0);
  expect(run.stderr, shown).not.toMatch(STACK_FRAME);
  return JSON.parse(run.stdout) as unknown;
}

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'apps/cli/tsconfig.json'],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (build.status !== 0 && !existsSync(CLI))
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  cp = await startControlPlane();
  token = (await createToken(cp, 'cli-data-writer', ['data'])).token;
  work = mkdtempSync(join(tmpdir(), 'stepgate-cli-data-'));
  const clone = join(work, 'policies');
  await cloneEmbedded(cp, clone);
  const settings = readText(clone, 'stepgate.yaml');
  await pushPolicies(
    cp,
    clone,
    {
      'live-schemas/cli-blocked.json': JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        items: { type: 'string' },
      }),
      // Beside any live data the example repository declares.
      'stepgate.yaml': /^liveData:[ \t]*$/m.test(settings)
        ? settings.replace(/^liveData:[ \t]*\n/m, (line) => `${line}${ENTRY}`)
        : `${settings}\nliveData:\n${ENTRY}`,
    },
    'Declare cli_blocked',
  );
}, 360_000);

afterAll(async () => {
  await cp?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('stepgate data', () => {
  it('puts, patches from a file, gets and lists the history, parsed with the protocol schemas', async () => {
    const put = liveDataWriteResponseSchema.parse(
      await json(['data', 'put', 'cli_blocked', '["203.0.113.0/24"]', '--reason', 'scanner']),
    );
    expect(put).toMatchObject({ revision: 1, value: ['203.0.113.0/24'] });
    const file = join(work, 'list.json');
    writeFileSync(file, '["203.0.113.0/24", "198.51.100.7/32"]');
    const patched = liveDataWriteResponseSchema.parse(
      await json(['data', 'patch', 'cli_blocked', '--file', file, '--reason', 'café: second one']),
    );
    expect(patched.revision).toBe(2);
    const doc = liveDocumentResponseSchema.parse(await json(['data', 'get', 'cli_blocked']));
    expect(doc.value).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
    const history = liveDataHistoryResponseSchema.parse(
      await json(['data', 'history', 'cli_blocked']),
    );
    expect(history.changes.map((c) => [c.revision, c.op, c.reason])).toEqual([
      [2, 'patch', 'café: second one'],
      [1, 'put', 'scanner'],
    ]);
    const text = await stepgate(['data', 'history', 'cli_blocked']);
    expect(text.stdout).toContain('café: second one');
  });

  it('refuses a write without a reason, a value that is not JSON, and one the schema refuses', async () => {
    const noReason = await stepgate(['data', 'put', 'cli_blocked', '[]']);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toContain('needs a reason: --reason');
    const notJson = await stepgate(['data', 'put', 'cli_blocked', 'oops', '--reason', 'r']);
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toContain('the value is not JSON');
    const invalid = await stepgate(['data', 'put', 'cli_blocked', '[1]', '--reason', 'r']);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain('does not match its JSON Schema');
    expect(invalid.stderr).toContain('(data/invalid)');
    for (const run of [noReason, notJson, invalid]) expect(run.stderr).not.toMatch(STACK_FRAME);
    const doc = liveDocumentResponseSchema.parse(await json(['data', 'get', 'cli_blocked']));
    expect(doc.dataRevision).toBe(2);
  });
});
