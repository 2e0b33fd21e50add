/**
 * `stepgate replay <dir>` end to end: the built CLI compiles a policy folder that was never
 * pushed and replays it on a real control plane (POST /v1/replays), whose decision log was
 * filled through the real ingest path (a socket.io agent's `logs` batch). Checks the exit
 * codes (0 no change, 1 changes, 2 a folder that does not compile) and the route's refusals
 * of a malformed policy set (400 naming the problem, 413 past the body limit).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '@stepgate/policy';
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
import { readPolicyDir } from '../../apps/cli/src/policy-files/read-policy-dir.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;

const BASE = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["local-replay:read"] }
rules:
  - name: read
    effect: allow
`;
const STRICTER = `${BASE}  - name: secret-mfa
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
`;
const BROKEN = `${BASE}  - name: broken
    effect: deny
    when: resource.id.startsWith(
`;

let cp: ControlPlaneProcess;
let work = '';
let clone = '';
let operator = '';
let secretDecision = '';

function decision(resourceId: string): DecisionRecord {
  return record({
    decisionId: randomUUID(),
    at: new Date(Date.now() - 600_000).toISOString(),
    principal: 'carol',
    action: 'local-replay:read',
    resource: { kind: 'doc', id: resourceId },
    reasons: [reason('docs', 'read', 'allow')],
    input: {
      principal: { id: 'carol' },
      action: 'local-replay:read',
      resource: { kind: 'doc', id: resourceId },
    },
    replay: { version: 1 },
  });
}

/** A copy of the pushed repository (without .git) with docs.yaml set to `docs`. */
function localDir(name: string, docs: string): string {
  const dir = join(work, name);
  cpSync(clone, dir, { recursive: true, filter: (path) => !path.includes('/.git') });
  writeFileSync(join(dir, 'replay/docs.yaml'), docs);
  return dir;
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
  operator = (await createToken(cp, 'cli-local-replay', ['operator'])).token;
  work = mkdtempSync(join(tmpdir(), 'stepgate-cli-local-replay-'));
  clone = join(work, 'policies');
  await cloneEmbedded(cp, clone);
  await pushPolicies(cp, clone, { 'replay/docs.yaml': BASE }, 'replay: base');
  const agent = await connectAgent(cp, {
    token: await agentTokenFor(cp, 'cli-local-replay-agent'),
    agentId: 'cli-local-replay-agent',
  });
  try {
    const records = [decision('public/1'), decision('secret/plan')];
    secretDecision = records[1]!.decisionId;
    expect(await agent.sendLogs({ batchId: 'local-1', records, dropped: 0 })).toEqual({
      ok: true,
    });
  } finally {
    agent.close();
  }
  await waitFor('2 stored decisions', async () => {
    const listed = await api(cp.url, operator, 'GET', '/v1/decisions?limit=10');
    return listed.body.decisions?.length === 2;
  });
}, 600_000);

afterAll(async () => {
  await cp?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('stepgate replay <dir>', () => {
  it('exits 1 and reports the changed decisions of a folder stricter than the active version', async () => {
    const dir = localDir('stricter', STRICTER);
    const run = await stepgate(['replay', dir, '--since', '2h']);
    expect(run.status, shown(run)).toBe(1);
    expect(run.stdout).toContain('Replay of local policies');
    expect(run.stdout).toContain('2 records: 2 replayed, 1 changed, 0 not replayable');
    expect(run.stdout).toMatch(/allow -> step_up\s+1/);
    expect(run.stdout).toMatch(/docs\/secret-mfa\s+1/);
    expect(run.stdout).toContain(secretDecision);
    const json = await stepgate(['replay', dir, '--since', '2h', '--json']);
    expect(json.status, shown(json)).toBe(1);
    const replay = replaySchema.parse(JSON.parse(json.stdout));
    expect(replay.version).toBeNull();
    expect(replay.result?.totals).toEqual({
      records: 2,
      replayed: 2,
      changed: 1,
      notReplayable: 0,
    });
    // Replayed only: no new version was made of it.
    const versions = await api(cp.url, operator, 'GET', '/v1/versions?limit=50');
    expect(JSON.stringify(versions.body)).not.toContain('secret-mfa');
  });

  it('exits 0 for a folder with the same policies as the active version', async () => {
    const run = await stepgate(['replay', localDir('same', BASE), '--since', '2h']);
    expect(run.status, shown(run)).toBe(0);
    expect(run.stdout).toContain('2 records: 2 replayed, 0 changed, 0 not replayable');
    expect(run.stdout).toContain('No decision changes.');
  });

  it('exits 2 with the compile errors for a folder that does not compile', async () => {
    const run = await stepgate(['replay', localDir('broken', BROKEN), '--since', '2h']);
    expect(run.status, shown(run)).toBe(2);
    expect(run.stderr).toContain('does not compile');
    expect(run.stderr).toContain('docs.yaml');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('POST /v1/replays refuses a malformed policy set with a 400 naming the problem, and 413 past the limit', async () => {
    const since = new Date(Date.now() - 3600_000).toISOString();
    const compiled = compile(await readPolicyDir(localDir('valid', BASE)));
    if (!compiled.ok) throw new Error('the base folder should compile');
    const good = compiled.policySet;
    const docs = good.policies.findIndex((policy) => policy.name === 'docs');

    const missing = await api(cp.url, operator, 'POST', '/v1/replays', { since });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('policySet');

    const badEffect = structuredClone(good) as unknown as {
      policies: { rules: { effect: string }[] }[];
    };
    badEffect.policies[docs]!.rules[0]!.effect = 'maybe';
    const invalid = await api(cp.url, operator, 'POST', '/v1/replays', {
      since,
      policySet: badEffect,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('request/invalid');
    expect(invalid.body.message).toContain(`policies.${docs}.rules.0.effect`);

    const badCondition = structuredClone(good) as unknown as {
      policies: { rules: { when?: string }[] }[];
    };
    badCondition.policies[docs]!.rules[0]!.when = 'resource.id.startsWith(';
    const unparsed = await api(cp.url, operator, 'POST', '/v1/replays', {
      since,
      policySet: badCondition,
    });
    expect(unparsed.status).toBe(400);
    expect(unparsed.body.message).toContain('docs/read: condition does not parse');

    const huge = structuredClone(good) as unknown as { data: Record<string, unknown> };
    huge.data = { blob: 'x'.repeat(1024 * 1024 + 10) };
    const tooLarge = await api(cp.url, operator, 'POST', '/v1/replays', {
      since,
      policySet: huge,
    });
    expect(tooLarge.status).toBe(413);

    const ok = await api(cp.url, operator, 'POST', '/v1/replays', { since, policySet: good });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
  });
});
