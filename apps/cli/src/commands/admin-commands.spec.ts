/**
 * The admin commands against a fake control plane (a real node:http server on port 0 that
 * records requests and answers canned JSON per route): first called in-process, then through
 * the real CLI entry point (main.ts compiled to a private directory, run with node).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdminIo } from '../api/admin-command-runner.js';
import {
  auditEventSchema,
  versionSchema,
  type AuditEventView,
  type VersionView,
} from '@stepgate/protocol';
import { activateCommand } from './activate-command.js';
import { auditCommand } from './audit-command.js';
import { rollbackCommand } from './rollback-command.js';
import { shadowCommand } from './shadow-command.js';
import { versionsCommand } from './versions-command.js';

const TOKEN = 'sg_admin_0123456789abcdef';
const STACK_FRAME = /^\s+at .+/m;

/** Parsed with the protocol's schema: a fixture that drifts from the contract fails here. */
function makeVersion(number: number, overrides: Partial<VersionView> = {}): VersionView {
  const sha = `${number.toString(16).padStart(2, '0')}c1234def5678abc1234def5678abc1234def56`;
  return versionSchema.parse({
    id: `0b7f9c1e-7d2a-4c6e-9f1b-2a3c4d5e6f${number.toString().padStart(2, '0')}`,
    number,
    sourceId: 'embedded',
    sha,
    branch: 'main',
    author: 'alice',
    message: `Change number ${number}\n\nLonger explanation.`,
    committedAt: '2026-11-23T10:00:00Z',
    createdAt: '2026-11-23T10:00:05Z',
    status: 'ready',
    bundleHash: 'sha256:00',
    size: 1234,
    forcePush: false,
    pushedBy: 'token:ci',
    protectionChanged: false,
    active: false,
    shadow: false,
    errorCount: 0,
    tests: { passed: 12, failed: 0 },
    ...overrides,
  });
}

const V14 = makeVersion(14, { shadow: true, author: 'carol', message: 'Try a stricter rule' });
const V13 = makeVersion(13, {
  status: 'failed',
  errorCount: 3,
  tests: null,
  forcePush: true,
  author: 'bob',
  message: 'Broken CEL\nsecond line',
});
const V12 = makeVersion(12, { active: true, committedAt: '2026-11-22T09:30:00Z' });

const AUDIT: AuditEventView[] = auditEventSchema.array().parse([
  {
    id: 'e2',
    at: '2026-11-23T11:00:01Z',
    actor: 'ops@example.com',
    action: 'version.activate',
    target: V12.id,
    reason: 'roll forward after fix',
    details: { from: 11 },
  },
  {
    id: 'e1',
    at: '2026-11-23T10:59:00Z',
    actor: 'ci-token',
    action: 'shadow.clear',
    target: null,
    reason: null,
    details: null,
  },
]);

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** Plays the control plane: canned replies keyed by `METHOD /path`, every request recorded. */
class FakeControlPlane {
  readonly requests: Recorded[] = [];
  private readonly routes = new Map<string, { status: number; body: unknown }>();
  private server: Server | undefined;
  url = '';

  reply(route: string, status: number, body: unknown): void {
    this.routes.set(route, { status, body });
  }

  reset(): void {
    this.requests.length = 0;
    this.routes.clear();
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const raw = Buffer.concat(chunks).toString('utf8');
        this.requests.push({
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: raw === '' ? undefined : (JSON.parse(raw) as unknown),
        });
        const route = `${req.method} ${url.pathname}`;
        const reply = this.routes.get(route) ?? {
          status: 404,
          body: { error: 'route/not_found', message: `no such route: ${route}` },
        };
        res
          .writeHead(reply.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A URL nothing listens on. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  return url;
}

const cp = new FakeControlPlane();
beforeAll(() => cp.start());
afterAll(() => cp.stop());
beforeEach(() => cp.reset());

interface Captured {
  io: AdminIo;
  stdout: () => string;
  stderr: () => string;
}

/** In-process IO: captured output and an environment of our own (never the real one). */
function capture(env: Record<string, string> = {}): Captured {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env,
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

const flags = () => ({ url: cp.url, token: TOKEN });

describe('admin commands in-process', () => {
  describe('connection', () => {
    it('sends the --token flag as a bearer token, over STEPGATE_TOKEN', async () => {
      cp.reply('GET /v1/versions', 200, { versions: [] });
      const run = capture({ STEPGATE_TOKEN: 'from-env' });
      expect(await versionsCommand(undefined, flags(), run.io)).toBe(0);
      expect(cp.requests).toHaveLength(1);
      expect(cp.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('takes the token and URL from STEPGATE_TOKEN and STEPGATE_URL', async () => {
      cp.reply('GET /v1/versions', 200, { versions: [] });
      const run = capture({ STEPGATE_URL: cp.url, STEPGATE_TOKEN: 'env-token-42' });
      expect(await versionsCommand(undefined, {}, run.io)).toBe(0);
      expect(cp.requests[0]!.headers.authorization).toBe('Bearer env-token-42');
      expect(run.stdout()).toBe('No versions yet.\n');
    });

    it('exits 2 without calling anything when there is no token', async () => {
      const run = capture({ STEPGATE_URL: cp.url });
      expect(await activateCommand('12', {}, run.io)).toBe(2);
      expect(cp.requests).toHaveLength(0);
      expect(run.stderr()).toContain('--token');
      expect(run.stderr()).toContain('STEPGATE_TOKEN');
      expect(run.stdout()).toBe('');
    });

    it('exits 1 with the friendly message when the control plane is unreachable', async () => {
      const url = await closedPortUrl();
      const run = capture();
      expect(await rollbackCommand({ url, token: TOKEN, reason: 'r' }, run.io)).toBe(1);
      expect(run.stderr()).toMatch(
        new RegExp(
          `^error: cannot reach the control plane at ${url} \\(.+\\); is it running\\? set --url or STEPGATE_URL\\n$`,
        ),
      );
      expect(run.stderr()).not.toContain(TOKEN);
    });
  });

  describe('versions', () => {
    it('lists versions as a table with markers, short sha, tests and first message line', async () => {
      cp.reply('GET /v1/versions', 200, { versions: [V14, V13, V12] });
      const run = capture();
      expect(await versionsCommand(undefined, flags(), run.io)).toBe(0);
      expect(cp.requests[0]!.method).toBe('GET');
      expect(cp.requests[0]!.query.get('limit')).toBe('50');

      const lines = run.stdout().trimEnd().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(
        /^VERSION\s+STATUS\s+MARKERS\s+SHA\s+AUTHOR\s+COMMITTED \(UTC\)\s+TESTS\s+MESSAGE$/,
      );
      expect(lines[1]).toMatch(
        /^\s*14\s+ready\s+SHADOW\s+0ec1234\s+carol\s+2026-11-23 10:00\s+12\/12\s+Try a stricter rule$/,
      );
      expect(lines[2]).toMatch(
        /^\s*13\s+failed\s+force-push\s+0dc1234\s+bob\s+2026-11-23 10:00\s+3 errors\s+Broken CEL$/,
      );
      expect(lines[3]).toMatch(
        /^\s*12\s+ready\s+ACTIVE\s+0cc1234\s+alice\s+2026-11-22 09:30\s+12\/12\s+Change number 12$/,
      );
      // Columns line up: every row starts the SHA column where the header does.
      const shaColumn = lines[0]!.indexOf('SHA');
      expect(lines.slice(1).map((line) => line.slice(shaColumn, shaColumn + 7))).toEqual([
        '0ec1234',
        '0dc1234',
        '0cc1234',
      ]);
    });

    it('passes --limit and prints parseable JSON with --json', async () => {
      cp.reply('GET /v1/versions', 200, { versions: [V12] });
      const run = capture();
      expect(await versionsCommand(undefined, { ...flags(), limit: 5, json: true }, run.io)).toBe(
        0,
      );
      expect(cp.requests[0]!.query.get('limit')).toBe('5');
      expect(JSON.parse(run.stdout())).toEqual({ versions: [V12] });
    });

    it('shows one version with its errors', async () => {
      cp.reply(`GET /v1/versions/${V13.sha.slice(0, 9)}`, 200, {
        ...V13,
        replay: null,
        activationHeld: null,
        errors: [
          {
            code: 'cel/syntax',
            message: 'unexpected token',
            file: 'deploys.yaml',
            line: 12,
            column: 5,
            policy: 'production-deploys',
            rule: 'weekend-freeze',
          },
          { code: 'test/failed', message: 'case x failed', file: 'deploys.test.yaml' },
        ],
        testReport: null,
      });
      const run = capture();
      expect(await versionsCommand(V13.sha.slice(0, 9), flags(), run.io)).toBe(0);
      const out = run.stdout();
      expect(out).toContain('Version 13: failed (force-push)');
      expect(out).toContain('Errors (2):');
      expect(out).toContain(
        'deploys.yaml:12:5  unexpected token [cel/syntax] (production-deploys/weekend-freeze)',
      );
      expect(out).toContain('deploys.test.yaml  case x failed [test/failed]');
      expect(out).toContain('    second line');
    });

    it('rejects a malformed version argument with exit 2 before calling', async () => {
      const run = capture();
      expect(await versionsCommand('abc', flags(), run.io)).toBe(2);
      expect(cp.requests).toHaveLength(0);
      expect(run.stderr()).toContain("'abc' is not a version");
    });
  });

  describe('activate', () => {
    it('posts the reason to /v1/versions/:ref/activate and reports the revision', async () => {
      cp.reply('POST /v1/versions/12/activate', 200, {
        revision: 7,
        activeVersion: V12,
        from: V14,
      });
      const run = capture();
      expect(await activateCommand('12', { ...flags(), reason: ' fix is out ' }, run.io)).toBe(0);
      expect(cp.requests).toHaveLength(1);
      expect(cp.requests[0]).toMatchObject({
        method: 'POST',
        path: '/v1/versions/12/activate',
        body: { reason: 'fix is out' },
      });
      expect(cp.requests[0]!.headers['content-type']).toBe('application/json');
      expect(run.stdout()).toBe('Activated version 12 (0cc1234) — revision 7\n');
    });

    it('sends an empty body without --reason, and JSON with --json', async () => {
      const answer = { revision: 8, activeVersion: V12, from: null };
      cp.reply(`POST /v1/versions/${V12.id}/activate`, 200, answer);
      const run = capture();
      expect(await activateCommand(V12.id, { ...flags(), json: true }, run.io)).toBe(0);
      expect(cp.requests[0]!.body).toEqual({});
      expect(JSON.parse(run.stdout())).toEqual(answer);
    });
  });

  describe('rollback', () => {
    it('posts reason and target with --to', async () => {
      cp.reply('POST /v1/rollback', 200, { revision: 9, activeVersion: V12, from: V14 });
      const run = capture();
      const options = { ...flags(), to: '12', reason: 'bad deploy' };
      expect(await rollbackCommand(options, run.io)).toBe(0);
      expect(cp.requests[0]).toMatchObject({ method: 'POST', path: '/v1/rollback' });
      expect(cp.requests[0]!.body).toEqual({ to: '12', reason: 'bad deploy' });
      expect(run.stdout()).toBe(
        'Rolled back to version 12 (0cc1234) from version 14 (0ec1234) — revision 9\n',
      );
    });

    it('omits `to` without --to', async () => {
      cp.reply('POST /v1/rollback', 200, { revision: 10, activeVersion: V12, from: null });
      const run = capture();
      expect(await rollbackCommand({ ...flags(), reason: 'bad deploy' }, run.io)).toBe(0);
      expect(cp.requests[0]!.body).toEqual({ reason: 'bad deploy' });
      expect(run.stdout()).toBe('Rolled back to version 12 (0cc1234) — revision 10\n');
    });

    it('refuses a blank reason with exit 2', async () => {
      const run = capture();
      expect(await rollbackCommand({ ...flags(), reason: '   ' }, run.io)).toBe(2);
      expect(cp.requests).toHaveLength(0);
      expect(run.stderr()).toContain('--reason');
    });
  });

  describe('shadow', () => {
    it('posts to /v1/versions/:ref/shadow', async () => {
      cp.reply('POST /v1/versions/14/shadow', 200, { revision: 11, shadowVersion: V14 });
      const run = capture();
      expect(await shadowCommand('14', { ...flags(), reason: 'try it' }, run.io)).toBe(0);
      expect(cp.requests[0]).toMatchObject({
        method: 'POST',
        path: '/v1/versions/14/shadow',
        body: { reason: 'try it' },
      });
      expect(run.stdout()).toBe('Shadowing version 14 (0ec1234) — revision 11\n');
    });

    it('sends DELETE /v1/shadow with --off, with the reason when given', async () => {
      cp.reply('DELETE /v1/shadow', 200, { revision: 12, shadowVersion: null });
      const run = capture();
      expect(
        await shadowCommand(undefined, { ...flags(), off: true, reason: 'done' }, run.io),
      ).toBe(0);
      expect(await shadowCommand(undefined, { ...flags(), off: true }, run.io)).toBe(0);
      expect(cp.requests.map((r) => [r.method, r.path, r.body])).toEqual([
        ['DELETE', '/v1/shadow', { reason: 'done' }],
        ['DELETE', '/v1/shadow', undefined],
      ]);
      expect(run.stdout()).toBe('Shadow mode off — revision 12\nShadow mode off — revision 12\n');
    });

    it('needs exactly one of <version> and --off (exit 2, nothing sent)', async () => {
      const both = capture();
      expect(await shadowCommand('14', { ...flags(), off: true }, both.io)).toBe(2);
      expect(both.stderr()).toContain('not both');
      const neither = capture();
      expect(await shadowCommand(undefined, flags(), neither.io)).toBe(2);
      expect(neither.stderr()).toContain('--off');
      expect(cp.requests).toHaveLength(0);
    });
  });

  describe('audit', () => {
    it('lists events as a table, passing --limit and --action', async () => {
      cp.reply('GET /v1/audit', 200, { events: AUDIT });
      const run = capture();
      const options = { ...flags(), limit: 20, action: 'version.activate' };
      expect(await auditCommand(options, run.io)).toBe(0);
      expect(cp.requests[0]!.query.get('limit')).toBe('20');
      expect(cp.requests[0]!.query.get('action')).toBe('version.activate');
      const lines = run.stdout().trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^TIME \(UTC\)\s+ACTOR\s+ACTION\s+TARGET\s+REASON$/);
      expect(lines[1]).toMatch(
        new RegExp(
          `^2026-11-23 11:00:01\\s+ops@example\\.com\\s+version\\.activate\\s+${V12.id}\\s+roll forward after fix$`,
        ),
      );
      expect(lines[2]).toMatch(/^2026-11-23 10:59:00\s+ci-token\s+shadow\.clear\s+-\s+-$/);
    });

    it('sends only the default limit when no filter is given, and prints JSON with --json', async () => {
      cp.reply('GET /v1/audit', 200, { events: AUDIT });
      const run = capture();
      expect(await auditCommand({ ...flags(), json: true }, run.io)).toBe(0);
      expect([...cp.requests[0]!.query.keys()]).toEqual(['limit']);
      expect(cp.requests[0]!.query.get('limit')).toBe('50');
      expect(JSON.parse(run.stdout())).toEqual({ events: AUDIT });
    });
  });

  describe('refusals', () => {
    it.each([
      [401, 'auth/invalid_token', 'the token is invalid or expired'],
      [403, 'auth/forbidden', 'this token lacks the admin scope'],
      [404, 'version/not_found', 'no version matches 99'],
      [409, 'version/not_ready', 'version 13 failed; only ready versions can be activated'],
      [503, 'db/unavailable', 'the database is unavailable'],
    ])('%i exits 1 and prints the server message and code', async (status, code, message) => {
      cp.reply('POST /v1/versions/99/activate', status, { error: code, message });
      const run = capture();
      expect(await activateCommand('99', flags(), run.io)).toBe(1);
      expect(run.stderr().split('\n')[0]).toBe(`error: ${message} (${code})`);
      expect(run.stdout()).toBe('');
      expect(run.stderr()).not.toContain(TOKEN);
      expect(run.stderr()).not.toMatch(STACK_FRAME);
      // With --json, scripts get the failure as one JSON object on stderr.
      const json = capture();
      expect(await activateCommand('99', { ...flags(), json: true }, json.io)).toBe(1);
      expect(JSON.parse(json.stderr())).toEqual({ error: code, message });
      expect(json.stdout()).toBe('');
    });

    it('adds a token hint to a 401 only', async () => {
      cp.reply('GET /v1/audit', 401, { error: 'auth/invalid_token', message: 'bad token' });
      const run = capture();
      expect(await auditCommand(flags(), run.io)).toBe(1);
      expect(run.stderr()).toContain('hint: check the token given with --token or STEPGATE_TOKEN');
    });

    it('never echoes the token, even when the server repeats it', async () => {
      cp.reply('GET /v1/versions', 400, { error: 'input/invalid', message: `odd token ${TOKEN}` });
      const run = capture();
      expect(await versionsCommand(undefined, flags(), run.io)).toBe(1);
      expect(run.stderr()).toBe('error: odd token <token> (input/invalid)\n');
    });
  });
});

// ---------------------------------------------------------------------------------------------

const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const tscBin = join(repoRoot, 'node_modules/typescript/bin/tsc');
let buildDir = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled CLI asynchronously (the fake control plane lives in this process, so a
 * synchronous spawn would deadlock), with a clean STEPGATE_* environment plus `env`.
 */
function stepgate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  for (const key of ['STEPGATE_URL', 'STEPGATE_TOKEN']) if (!(key in env)) delete childEnv[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(buildDir, 'main.js'), ...args], {
      cwd: repoRoot,
      env: childEnv,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const show = (run: Run): string =>
  `exit ${run.status}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

describe('the stepgate CLI process', () => {
  beforeAll(() => {
    // A private build of apps/cli (not apps/cli/dist), so this never races another test file
    // or a developer's `tsc -b` rewriting dist/ while we run it. Node resolves commander and
    // @stepgate/policy from the repository's node_modules, as it does for dist/.
    mkdirSync(join(repoRoot, 'tmp'), { recursive: true });
    buildDir = mkdtempSync(join(repoRoot, 'tmp', 'cli-admin-spec-'));
    const build = spawnSync(
      process.execPath,
      [
        tscBin,
        '-p',
        join(repoRoot, 'apps/cli/tsconfig.json'),
        '--outDir',
        buildDir,
        '--tsBuildInfoFile',
        join(buildDir, 'cli.tsbuildinfo'),
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
    );
    if (build.status !== 0) {
      throw new Error(`building apps/cli failed:\n${build.stdout}\n${build.stderr}`);
    }
  }, 120_000);

  afterAll(() => {
    if (buildDir !== '') rmSync(buildDir, { recursive: true, force: true });
  });

  it('uses STEPGATE_URL and STEPGATE_TOKEN from the environment and prints the table', async () => {
    cp.reply('GET /v1/versions', 200, { versions: [V14, V13, V12] });
    const run = await stepgate(['versions', '--limit', '3'], {
      STEPGATE_URL: cp.url,
      STEPGATE_TOKEN: 'env-token-7',
    });
    expect(run.status, show(run)).toBe(0);
    expect(cp.requests[0]!.headers.authorization).toBe('Bearer env-token-7');
    expect(cp.requests[0]!.query.get('limit')).toBe('3');
    expect(run.stdout).toMatch(/^\s*13\s+failed\s+force-push\s+0dc1234\s.*3 errors\s+Broken CEL$/m);
  });

  it('--token wins over STEPGATE_TOKEN, and --json prints parseable JSON', async () => {
    cp.reply('GET /v1/audit', 200, { events: AUDIT });
    const run = await stepgate(
      ['audit', '--action', 'version.activate', '--json', '--url', cp.url, '--token', TOKEN],
      { STEPGATE_TOKEN: 'not-this-one' },
    );
    expect(run.status, show(run)).toBe(0);
    expect(cp.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(cp.requests[0]!.query.get('action')).toBe('version.activate');
    expect(JSON.parse(run.stdout)).toEqual({ events: AUDIT });
  });

  it('rollback with --to and --reason posts both', async () => {
    cp.reply('POST /v1/rollback', 200, { revision: 9, activeVersion: V12, from: V14 });
    const run = await stepgate(
      ['rollback', '--to', '12', '--reason', 'bad deploy', '--url', cp.url],
      { STEPGATE_TOKEN: TOKEN },
    );
    expect(run.status, show(run)).toBe(0);
    expect(cp.requests[0]).toMatchObject({ method: 'POST', path: '/v1/rollback' });
    expect(cp.requests[0]!.body).toEqual({ to: '12', reason: 'bad deploy' });
    expect(run.stdout).toBe(
      'Rolled back to version 12 (0cc1234) from version 14 (0ec1234) — revision 9\n',
    );
  });

  it('shadow --off sends DELETE /v1/shadow', async () => {
    cp.reply('DELETE /v1/shadow', 200, { revision: 12, shadowVersion: null });
    const run = await stepgate(['shadow', '--off', '--url', cp.url, '--token', TOKEN]);
    expect(run.status, show(run)).toBe(0);
    expect(cp.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /v1/shadow']);
    expect(run.stdout).toBe('Shadow mode off — revision 12\n');
  });

  it('a 409 exits 1 with the server message, no stack trace, no token', async () => {
    cp.reply('POST /v1/versions/13/activate', 409, {
      error: 'version/not_ready',
      message: 'version 13 failed; only ready versions can be activated',
    });
    const run = await stepgate([
      'activate',
      '13',
      '--reason',
      'x',
      '--url',
      cp.url,
      '--token',
      TOKEN,
    ]);
    expect(run.status, show(run)).toBe(1);
    expect(run.stderr).toBe(
      'error: version 13 failed; only ready versions can be activated (version/not_ready)\n',
    );
    expect(run.stdout).toBe('');
  });

  it('an unreachable control plane exits 1 with the friendly message', async () => {
    const url = await closedPortUrl();
    const run = await stepgate(['versions', '--url', url, '--token', TOKEN]);
    expect(run.status, show(run)).toBe(1);
    expect(run.stderr).toContain(`error: cannot reach the control plane at ${url} (`);
    expect(run.stderr).toContain('is it running? set --url or STEPGATE_URL');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
  });

  it.each([
    ['no token', ['versions'], /--token.*STEPGATE_TOKEN/],
    [
      'rollback without --reason',
      ['rollback', '--to', '12', '--token', TOKEN],
      /required option '--reason <text>' not specified/,
    ],
    ['activate without a version', ['activate', '--token', TOKEN], /missing required argument/],
    ['shadow with neither version nor --off', ['shadow', '--token', TOKEN], /--off/],
    ['a bad --limit', ['audit', '--limit', 'lots', '--token', TOKEN], /--limit/],
    ['a malformed version', ['activate', 'v12!', '--token', TOKEN], /is not a version/],
  ])('%s exits 2 and sends nothing', async (_name, args, message) => {
    const run = await stepgate([...args, '--url', cp.url]);
    expect(run.status, show(run)).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(cp.requests).toHaveLength(0);
  });
});
