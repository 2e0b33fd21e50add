/**
 * The complete CLI end to end: the built CLI (apps/cli/dist/main.js) as a real process against a
 * real control plane and a real agent. `login` saves a profile in a private HOME, and every later
 * command reads its URL and token from that profile only (no STEPGATE_URL / STEPGATE_TOKEN):
 * status, tokens create/list/revoke, decisions with a filter, agents, and decisions --follow
 * printing a decision the agent made after it started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentsResponseSchema,
  createTokenResponseSchema,
  decisionSchema,
  decisionsResponseSchema,
  sourcesResponseSchema,
  syncQueuedSchema,
  tokensResponseSchema,
} from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  freePort,
  killAllAgents,
  REPO_ROOT,
  removeTempDirs,
  startPolicyFleet,
  tempDir,
  waitFor,
  type AgentProcess,
} from '../e2e/support.js';
import type { ControlPlaneProcess } from '../support/control-plane-process.js';

const CLI = join(REPO_ROOT, 'apps/cli/dist/main.js');
const STACK_FRAME = /^\s+at .+/m;

const POLICIES: Record<string, string> = {
  'cli-complete/docs.yaml': `apiVersion: stepgate/v1
kind: Policy
name: cli-docs
target:
  actions: ["doc:read"]
rules:
  - name: frozen
    effect: deny
    when: 'resource.id == "frozen"'
  - name: engineers
    effect: allow
    when: '"engineer" in principal.roles'
`,
};

let cp: ControlPlaneProcess;
let agent: AgentProcess;
let adminToken = '';
let home = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: a private HOME, no STEPGATE_* or colour settings of the developer. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('STEPGATE_') && !['FORCE_COLOR', 'XDG_CONFIG_HOME'].includes(key)) {
      env[key] = value;
    }
  }
  return { ...env, NO_COLOR: '1', HOME: home, ...extra };
}

function start(
  args: string[],
  extra?: Record<string, string>,
): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(extra), cwd: home });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { child, done, stdout: () => stdout };
}

async function stepgate(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const running = start(args, options.env);
  running.child.stdin!.end(options.stdin ?? '');
  const run = await running.done;
  expect(run.stderr, shown(args, run)).not.toMatch(STACK_FRAME);
  // The profile's token is never printed, whatever the command.
  expect(`${run.stdout}${run.stderr}`, shown(args, run)).not.toContain(adminToken);
  return run;
}

const shown = (args: string[], run: Run): string =>
  `stepgate ${args.join(' ')} -> exit ${run.status}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

async function json(args: string[]): Promise<unknown> {
  const run = await stepgate([...args, '--json']);
  expect(run.status, shown(args, run)).toBe(0);
  return JSON.parse(run.stdout) as unknown;
}

const read = (principal: string, id: string) => ({
  principal: { id: principal, roles: ['engineer'] },
  action: 'doc:read',
  resource: { kind: 'doc', id },
});

beforeAll(async () => {
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'apps/cli/tsconfig.json'],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (build.status !== 0 && !existsSync(CLI)) {
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  }
  const fleet = await startPolicyFleet({
    name: 'cli-complete',
    people: { ops: ['admin'] },
    policies: POLICIES,
    message: 'CLI complete: docs policy',
  });
  ({ cp, agent } = fleet);
  adminToken = fleet.tokens.ops!;
  home = tempDir('cli-complete-home');
}, 300_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  removeTempDirs();
});

describe('login and profiles', () => {
  it('login checks the token and saves it in a 0600 file; profiles lists names and URLs only', async () => {
    const login = await stepgate(['login', '--url', cp.url, '--token-stdin'], {
      stdin: `${adminToken}\n`,
    });
    expect(login.status, shown(['login'], login)).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${cp.url} as profile 'default'`);
    const file = join(home, '.config', 'stepgate', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'stepgate')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toContain(adminToken);

    const profiles = await json(['profiles']);
    expect(profiles).toEqual({
      path: file,
      profiles: [{ name: 'default', url: cp.url, current: true }],
    });
  });

  it('login refuses a wrong token and saves nothing', async () => {
    const run = await stepgate(['login', '--profile', 'wrong', '--url', cp.url, '--token-stdin'], {
      stdin: 'sg_not_a_real_token_000000',
    });
    expect(run.status, shown(['login'], run)).toBe(1);
    expect(run.stderr).toMatch(/^error: .*\(auth\//m);
    const profiles = (await json(['profiles'])) as { profiles: { name: string }[] };
    expect(profiles.profiles.map((p) => p.name)).toEqual(['default']);
  });
});

describe('status', () => {
  it('exits 0 with the active version, the converged fleet and the pending approvals', async () => {
    let last: Run | undefined;
    // The agent acknowledges its revision on its own schedule: wait for convergence, not a time.
    await waitFor(
      'stepgate status to report a converged fleet',
      async () => {
        last = await stepgate(['status', '--json']);
        return last.status === 0;
      },
      60_000,
      500,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${last === undefined ? '' : shown(['status'], last)}`);
    });
    const report = JSON.parse(last!.stdout) as {
      healthy: boolean;
      exitCode: number;
      problems: string[];
      activeVersion: { active: boolean; message: string } | null;
      fleet: { agents: { connected: number }; converged: boolean; activeRevision: number };
      pendingApprovals: number;
      controlPlane: { ready: { status: string } };
    };
    expect(report).toMatchObject({ healthy: true, exitCode: 0, problems: [], pendingApprovals: 0 });
    expect(report.controlPlane.ready.status).toBe('ready');
    expect(report.activeVersion?.message).toContain('CLI complete: docs policy');
    expect(report.fleet.agents.connected).toBe(1);

    const text = await stepgate(['status']);
    expect(text.status, shown(['status'], text)).toBe(0);
    expect(text.stdout).toMatch(/^Control plane {2}ready$/m);
    expect(text.stdout).toContain(`revision ${report.fleet.activeRevision}`);
    expect(text.stdout).toMatch(/^Fleet +1 of 1 connected agent\(s\) converged/m);
    expect(text.stdout).toMatch(/^Approvals +0 pending$/m);
  });

  it('exits 1 when the control plane cannot be reached, as JSON on stderr with --json', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const run = await stepgate([
      'status',
      '--json',
      '--url',
      nowhere,
      '--token',
      'sg_some_token_1234',
    ]);
    expect(run.status, shown(['status'], run)).toBe(1);
    expect(run.stdout).toBe('');
    const error = JSON.parse(run.stderr) as { error: string; message: string };
    expect(error.error).toBe('unreachable');
    expect(error.message).toContain(nowhere);
  });
});

describe('tokens', () => {
  it('create prints the token once with a warning; list never shows it; revoke stops it', async () => {
    const createArgs = [
      'tokens',
      'create',
      '--name',
      'cli-complete-ci',
      '--scopes',
      'viewer',
      '--subject',
      'ci-bot',
    ];
    const created = await stepgate([...createArgs, '--json']);
    expect(created.status, shown(createArgs, created)).toBe(0);
    expect(created.stderr).toContain('the only time the token is shown');
    const token = createTokenResponseSchema.parse(JSON.parse(created.stdout));
    expect(token).toMatchObject({ name: 'cli-complete-ci', subject: 'ci-bot', scopes: ['viewer'] });

    // The new token works (a viewer may read the fleet), here from a second profile.
    const login = await stepgate(['login', '--profile', 'ci', '--url', cp.url, '--token-stdin'], {
      stdin: token.token,
    });
    expect(login.status, shown(['login', '--profile', 'ci'], login)).toBe(0);
    const profiles = (await json(['profiles'])) as {
      profiles: { name: string; current: boolean }[];
    };
    expect(profiles.profiles).toEqual([
      { name: 'ci', url: cp.url, current: false },
      { name: 'default', url: cp.url, current: true },
    ]);
    const asCi = await stepgate(['agents', '--json', '--profile', 'ci']);
    expect(asCi.status, shown(['agents'], asCi)).toBe(0);
    // A viewer may not list tokens: the ci profile is really used.
    const forbidden = await stepgate(['tokens', '--json'], { env: { STEPGATE_PROFILE: 'ci' } });
    expect(forbidden.status, shown(['tokens'], forbidden)).toBe(1);
    expect(JSON.parse(forbidden.stderr)).toMatchObject({ error: 'auth/forbidden' });

    const listed = await stepgate(['tokens', 'list', '--json']);
    expect(listed.stdout).not.toContain(token.token);
    const list = tokensResponseSchema.parse(JSON.parse(listed.stdout));
    expect(list.tokens.find((t) => t.id === token.id)).toMatchObject({
      revokedAt: null,
      subject: 'ci-bot',
    });

    const revoked = await stepgate(['tokens', 'revoke', token.id]);
    expect(revoked.status, shown(['tokens', 'revoke'], revoked)).toBe(0);
    expect(revoked.stdout).toBe(`Revoked token ${token.id}\n`);

    const active = tokensResponseSchema.parse(await json(['tokens']));
    expect(active.tokens.map((t) => t.id)).not.toContain(token.id);
    const all = tokensResponseSchema.parse(await json(['tokens', '--all']));
    expect(all.tokens.find((t) => t.id === token.id)?.revokedAt).not.toBeNull();

    const refused = await stepgate(['agents', '--profile', 'ci']);
    expect(refused.status, shown(['agents'], refused)).toBe(1);
    expect(refused.stderr).toContain('hint: check the token');
    const logout = await stepgate(['logout', '--profile', 'ci']);
    expect(logout.status, shown(['logout'], logout)).toBe(0);
    const left = (await json(['profiles'])) as { profiles: { name: string }[] };
    expect(left.profiles.map((p) => p.name)).toEqual(['default']);
  });
});

describe('sources', () => {
  it('lists the default (embedded) source with its last sync, and queues a sync of it', async () => {
    const list = sourcesResponseSchema.parse(await json(['sources']));
    const embedded = list.sources.find((source) => source.id === 'default');
    expect(embedded, JSON.stringify(list)).toMatchObject({ kind: 'embedded', lastSyncError: null });
    expect(embedded!.lastSyncedSha).toMatch(/^[0-9a-f]{40}$/);
    const table = await stepgate(['sources']);
    expect(table.stdout).toMatch(/^ID +NAME +KIND/);
    expect(table.stdout).toContain(embedded!.lastSyncedSha!.slice(0, 7));

    expect(syncQueuedSchema.parse(await json(['sources', 'sync', 'default']))).toMatchObject({
      queued: true,
    });
    const unknown = await stepgate(['sources', 'sync', 'no-such-source', '--json']);
    expect(unknown.status, shown(['sources', 'sync'], unknown)).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: 'source/not_found' });
  });
});

describe('decisions and agents', () => {
  it('decisions --json with a filter returns only the matching decisions', async () => {
    const principal = `filter-${Date.now()}`;
    expect((await agent.decide(read(principal, 'open'))).body.effect).toBe('allow');
    expect((await agent.decide(read(principal, 'frozen'))).body.effect).toBe('deny');
    await waitFor(
      'the agent to ship both decisions',
      async () => {
        const page = await api(cp.url, adminToken, 'GET', `/v1/decisions?principal=${principal}`);
        return page.status === 200 && page.body.decisions.length === 2;
      },
      60_000,
      250,
    );

    const denied = decisionsResponseSchema.parse(
      await json(['decisions', '--principal', principal, '--effect', 'deny', '--since', '1h']),
    );
    expect(denied.decisions).toHaveLength(1);
    expect(denied.decisions[0]).toMatchObject({
      principal,
      effect: 'deny',
      resource: { kind: 'doc', id: 'frozen' },
      reasons: [{ policy: 'cli-docs', rule: 'frozen', effect: 'deny' }],
    });
    const byRule = decisionsResponseSchema.parse(
      await json(['decisions', '--principal', principal, '--rule', 'cli-docs/engineers']),
    );
    expect(byRule.decisions.map((d) => d.resource.id)).toEqual(['open']);

    const table = await stepgate(['decisions', '--principal', principal]);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME \(UTC\) +EFFECT +PRINCIPAL/);
    expect(table.stdout).toMatch(
      new RegExp(`deny +${principal} +doc:read +doc:frozen +cli-docs/frozen`),
    );
  });

  it('agents --json lists the connected agent with the revision it enforces', async () => {
    const fleet = await api(cp.url, adminToken, 'GET', '/v1/fleet');
    const list = agentsResponseSchema.parse(await json(['agents', '--status', 'connected']));
    expect(list.agents).toHaveLength(1);
    expect(list.agents[0]).toMatchObject({
      status: 'connected',
      activeRevision: fleet.body.activeRevision,
    });
    const none = agentsResponseSchema.parse(await json(['agents', '--status', 'disconnected']));
    expect(none.agents).toEqual([]);
  });

  it('decisions --follow prints a decision made after it started, once, and stops cleanly on SIGINT', async () => {
    const principal = `follow-${Date.now()}`;
    const follow = start(['decisions', '--follow', '--json', '--principal', principal]);
    follow.child.stdin!.end();
    expect((await agent.decide(read(principal, 'followed'))).body.effect).toBe('allow');
    await waitFor(
      'decisions --follow to print the new decision',
      () => follow.stdout().includes(principal),
      60_000,
      250,
    );
    // A second decision, printed by a later poll: that poll must not print the first one again.
    expect((await agent.decide(read(principal, 'second'))).body.effect).toBe('allow');
    await waitFor(
      'decisions --follow to print the second decision',
      () => follow.stdout().includes('"second"'),
      60_000,
      250,
    );
    follow.child.kill('SIGINT');
    const run = await follow.done;
    expect(run.status, shown(['decisions', '--follow'], run)).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n');
    expect(lines, run.stdout).toHaveLength(2);
    expect(lines.map((line) => decisionSchema.parse(JSON.parse(line)).resource.id)).toEqual([
      'followed',
      'second',
    ]);
    const decision = decisionSchema.parse(JSON.parse(lines[0]!));
    expect(decision).toMatchObject({ principal, effect: 'allow', resource: { id: 'followed' } });
  });
});
