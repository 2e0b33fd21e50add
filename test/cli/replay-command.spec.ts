/**
 * `stepgate replay` end to end: the built CLI as a real process against a real control plane
 * whose decision log was filled through the real ingest path (a socket.io agent shipping a
 * `logs` batch). Checks the exit codes (0 no change, 1 changes, 2 error), the table and the
 * --json answer read with the protocol's schema.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaySchema, type DecisionRecord } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  startControlPlane,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { agentTokenFor, connectAgent, reason, record } from '../integration/agents/support.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import {
  api,
  createToken,
  ensureControlPlaneBuilt,
  waitFor,
} from '../integration/control-plane/support.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;

const BASE = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["replay:read"] }
rules:
  - name: read
    effect: allow
`;
const STRICTER = `${BASE}  - name: secret-mfa
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
`;

let cp: ControlPlaneProcess;
let work = '';
let operator = '';
let base = 0;
let stricter = 0;
let secretDecision = '';

function decision(resourceId: string): DecisionRecord {
  return record({
    decisionId: randomUUID(),
    at: new Date(Date.now() - 600_000).toISOString(),
    principal: 'bob',
    action: 'replay:read',
    resource: { kind: 'doc', id: resourceId },
    reasons: [reason('docs', 'read', 'allow')],
    input: {
      principal: { id: 'bob' },
      action: 'replay:read',
      resource: { kind: 'doc', id: resourceId },
    },
    replay: { version: 1 },
  });
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the test's STEPGATE_* settings, never the developer's. */
function stepgate(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('STEPGATE_') && key !== 'FORCE_COLOR') env[key] = value;
  Object.assign(env, { NO_COLOR: '1', STEPGATE_URL: cp.url, STEPGATE_TOKEN: operator });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const shown = (run: Run) => `exit ${run.status}\n${run.stdout}\n${run.stderr}`;

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
  operator = (await createToken(cp, 'cli-replay', ['operator'])).token;
  work = mkdtempSync(join(tmpdir(), 'stepgate-cli-replay-'));
  const clone = join(work, 'policies');
  await cloneEmbedded(cp, clone);
  base = (await pushPolicies(cp, clone, { 'replay/docs.yaml': BASE }, 'replay: base')).number;
  const agent = await connectAgent(cp, {
    token: await agentTokenFor(cp, 'cli-replay-agent'),
    agentId: 'cli-replay-agent',
  });
  try {
    const records = [decision('public/1'), decision('secret/plan')];
    secretDecision = records[1]!.decisionId;
    expect(await agent.sendLogs({ batchId: 'cli-1', records, dropped: 0 })).toEqual({ ok: true });
  } finally {
    agent.close();
  }
  await waitFor('2 stored decisions', async () => {
    const listed = await api(cp.url, operator, 'GET', '/v1/decisions?limit=10');
    return listed.body.decisions?.length === 2;
  });
  stricter = (await pushPolicies(cp, clone, { 'replay/docs.yaml': STRICTER }, 'replay: stricter'))
    .number;
}, 600_000);

afterAll(async () => {
  await cp?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('stepgate replay', () => {
  it('exits 0 when the version changes no decision', async () => {
    const run = await stepgate(['replay', String(base), '--since', '2h']);
    expect(run.status, shown(run)).toBe(0);
    expect(run.stdout).toContain('2 records: 2 replayed, 0 changed, 0 not replayable');
    expect(run.stdout).toContain('No decision changes.');
  });

  it('exits 1 and prints the changes by rule with examples when it changes some', async () => {
    const run = await stepgate(['replay', String(stricter), '--since', '2h']);
    expect(run.status, shown(run)).toBe(1);
    expect(run.stdout).toMatch(/allow -> step_up\s+1/);
    expect(run.stdout).toMatch(/docs\/secret-mfa\s+1/);
    expect(run.stdout).toContain(secretDecision);
    expect(run.stdout).toContain('(level mfa)');
  });

  it('--json prints the replay as the protocol defines it, with the same exit code', async () => {
    const run = await stepgate(['replay', String(stricter), '--since', '2h', '--json']);
    expect(run.status, shown(run)).toBe(1);
    const replay = replaySchema.parse(JSON.parse(run.stdout));
    expect(replay.result?.totals).toEqual({
      records: 2,
      replayed: 2,
      changed: 1,
      notReplayable: 0,
    });
    const filtered = await stepgate([
      'replay',
      String(stricter),
      '--since',
      '2h',
      '--principal',
      'nobody',
      '--json',
    ]);
    expect(filtered.status, shown(filtered)).toBe(0);
  });

  it('exits 2 on an error: an unknown version, a bad --since', async () => {
    const missing = await stepgate(['replay', '9999']);
    expect(missing.status, shown(missing)).toBe(2);
    expect(missing.stderr).toContain('version/not_found');
    expect(missing.stderr).not.toMatch(STACK_FRAME);
    const bad = await stepgate(['replay', String(base), '--since', 'yesterday']);
    expect(bad.status, shown(bad)).toBe(2);
    expect(bad.stderr).toContain('--since takes a duration');
  });
});
