/**
 * Shared pieces of the control-plane integration suites: an up-to-date build of the real
 * control plane, the real `git` CLI, temp dirs, policy edits, forge webhooks, a private
 * redis-server, and a read-only look at the sync queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Queue } from 'bullmq';
import {
  api,
  freePort,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { ensureControlPlaneBuilt } from '../../support/fresh-build.js';

export { api, ensureControlPlaneBuilt, waitFor };

// ---------------------------------------------------------------------------------------------
// Build

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    if (options.input !== undefined) child.stdin!.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolveRun({ status, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Temp dirs and git

export function tempDirs(): { make(prefix: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `stepgate-it-${prefix}-`));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Never the machine's or user's git configuration, never a prompt. */
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
};
const IDENTITY = ['-c', 'user.name=Alice Example', '-c', 'user.email=alice@example.com'];

export interface GitRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real git CLI (asynchronous: some servers live in this process); `env` adds variables
 * (e.g. GIT_SSL_CAINFO).
 */
export function git(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<GitRun> {
  return run('git', [...IDENTITY, '-c', 'init.defaultBranch=main', ...args], {
    ...(cwd ? { cwd } : {}),
    env: { ...GIT_ENV, ...env },
    timeoutMs: 60_000,
  });
}

/** git that must succeed; resolves with trimmed stdout. */
export async function gitOk(args: string[], cwd?: string): Promise<string> {
  const result = await git(args, cwd);
  if (result.status !== 0)
    throw new Error(`git ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result.stdout.trim();
}

/** Writes (or, with null, deletes) files in a work tree and commits them; returns the sha. */
export async function commit(
  dir: string,
  files: Record<string, string | null>,
  message: string,
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
  await gitOk(['add', '--all'], dir);
  await gitOk(['commit', '--quiet', '-m', message], dir);
  return gitOk(['rev-parse', 'HEAD'], dir);
}

export function readText(dir: string, path: string): string {
  return readFileSync(join(dir, path), 'utf8');
}

/** `http://user:password@host/...` */
export function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = username;
  parsed.password = password;
  return parsed.toString();
}

export function embeddedRepoUrl(cp: ControlPlaneProcess, token?: string): string {
  const url = `${cp.url}/git/policies.git`;
  return token ? withCredentials(url, 'x', token) : url;
}

// ---------------------------------------------------------------------------------------------
// Policy edits (on top of the example repository in /policies, seeded at the repo root)

/** A new, valid policy with its own passing test: every call gives a distinct commit. */
export function validPolicyFiles(tag: string): Record<string, string> {
  return {
    [`it/${tag}.yaml`]: [
      'apiVersion: stepgate/v1',
      'kind: Policy',
      `name: it-${tag}`,
      `description: Integration test policy ${tag}.`,
      'target:',
      `  actions: ["it:${tag}"]`,
      'rules:',
      '  - name: testers',
      '    effect: allow',
      '    when: \'"tester" in principal.roles\'',
      '',
    ].join('\n'),
    [`it/${tag}.test.yaml`]: [
      'apiVersion: stepgate/v1',
      'kind: TestSuite',
      `name: it ${tag}`,
      'cases:',
      '  - name: a tester is allowed',
      '    input:',
      '      principal: { id: tess, roles: [tester] }',
      `      action: it:${tag}`,
      '      resource: { kind: thing, id: one }',
      '    expect: { effect: allow }',
      '',
    ].join('\n'),
  };
}

/** The example admin-step-up policy with a CEL syntax error in rule `untrusted-network` (line 16). */
export function brokenCel(original: string): string {
  const broken = original.replace(
    'context.ip.inCidr(data.network.corporate + data.network.vpn))',
    'context.ip.inCidr(data.network.corporate + data.network.vpn) &&)',
  );
  if (broken === original) throw new Error('the example policy changed; update brokenCel()');
  return broken;
}

/** The example admin-step-up tests with one expectation flipped, so that case fails. */
export function failingTest(original: string): string {
  const flipped = original.replace(
    'expect: { effect: allow, rule: api-access/api-admins }',
    'expect: { effect: deny, rule: api-access/api-admins }',
  );
  if (flipped === original) throw new Error('the example test changed; update failingTest()');
  return flipped;
}

// ---------------------------------------------------------------------------------------------
// Admin API helpers

export interface Version {
  id: string;
  number: number;
  sha: string;
  status: 'ready' | 'failed';
  active: boolean;
  shadow: boolean;
  forcePush: boolean;
  pushedBy: string | null;
  protectionChanged: boolean;
  errorCount: number;
  author: string;
  message: string;
  tests: { passed: number; failed: number } | null;
}

export async function listVersions(cp: ControlPlaneProcess): Promise<Version[]> {
  const response = await api(cp.url, cp.adminToken, 'GET', '/v1/versions?limit=500');
  if (response.status !== 200)
    throw new Error(`GET /v1/versions: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.versions as Version[];
}

/** Polls until the version of `sha` exists (and matches `when`), and returns it. */
export async function waitForVersion(
  cp: ControlPlaneProcess,
  sha: string,
  when: (v: Version) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<Version> {
  let found: Version | undefined;
  await waitFor(
    `a version of ${sha.slice(0, 7)}`,
    async () => {
      found = (await listVersions(cp)).find((v) => v.sha === sha);
      return found !== undefined && when(found);
    },
    timeoutMs,
    150,
  );
  return found!;
}

export async function activeVersion(cp: ControlPlaneProcess): Promise<Version | undefined> {
  return (await listVersions(cp)).find((v) => v.active);
}

export async function createToken(
  cp: ControlPlaneProcess,
  name: string,
  scopes: string[],
): Promise<{ id: string; token: string }> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', { name, scopes });
  if (response.status !== 201 && response.status !== 200)
    throw new Error(`POST /v1/tokens: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { id: string; token: string };
}

// ---------------------------------------------------------------------------------------------
// Webhooks

export type Forge = 'github' | 'gitlab' | 'gitea';

export interface WebhookOptions {
  forge: Forge;
  secret: string;
  body: unknown;
  delivery?: string;
  /** Replace the computed signature/token (to send a wrong one); null omits it. */
  signature?: string | null;
}

export function webhookRequest(options: WebhookOptions): {
  headers: Record<string, string>;
  raw: string;
} {
  const raw = JSON.stringify(options.body);
  const hmac = createHmac('sha256', options.secret).update(raw).digest('hex');
  const delivery = options.delivery ?? randomUUID();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let proof: [string, string];
  switch (options.forge) {
    case 'github':
      headers['x-github-event'] = 'push';
      headers['x-github-delivery'] = delivery;
      proof = ['x-hub-signature-256', `sha256=${hmac}`];
      break;
    case 'gitlab':
      headers['x-gitlab-event'] = 'Push Hook';
      headers['x-gitlab-event-uuid'] = delivery;
      proof = ['x-gitlab-token', options.secret];
      break;
    case 'gitea':
      headers['x-gitea-event'] = 'push';
      headers['x-gitea-delivery'] = delivery;
      proof = ['x-gitea-signature', hmac];
      break;
  }
  if (options.signature !== null) headers[proof[0]] = options.signature ?? proof[1];
  return { headers, raw };
}

export async function sendWebhook(
  base: string,
  sourceId: string,
  options: WebhookOptions,
): Promise<{ status: number; body: any }> {
  const { headers, raw } = webhookRequest(options);
  const response = await fetch(`${base}/v1/webhooks/${sourceId}`, {
    method: 'POST',
    headers,
    body: raw,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, body };
}

// ---------------------------------------------------------------------------------------------
// The sync queue, read-only

export interface QueuedSync {
  id: string;
  data: { sourceId: string; trigger: string; headSha?: string };
}

/** Every sync job BullMQ still holds for this control plane (its Redis prefix), any state. */
export async function syncJobs(
  cp: ControlPlaneProcess,
  redisUrl = 'redis://127.0.0.1:6379',
): Promise<QueuedSync[]> {
  const url = new URL(redisUrl);
  const queue = new Queue('policy-sync', {
    prefix: cp.redisPrefix,
    connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: 1 },
  });
  try {
    const jobs = await queue.getJobs(
      ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'],
      0,
      -1,
    );
    return jobs
      .filter((job) => job !== undefined && job !== null)
      .map((job) => ({ id: String(job.id), data: job.data as QueuedSync['data'] }));
  } finally {
    await queue.close();
  }
}

/** Sync jobs waiting or running right now (the poll schedule's next, delayed run not counted). */
export async function busySyncJobs(
  cp: ControlPlaneProcess,
  redisUrl = 'redis://127.0.0.1:6379',
): Promise<number> {
  const url = new URL(redisUrl);
  const queue = new Queue('policy-sync', {
    prefix: cp.redisPrefix,
    connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: 1 },
  });
  try {
    const counts = await queue.getJobCounts('active', 'waiting', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  } finally {
    await queue.close();
  }
}

// ---------------------------------------------------------------------------------------------
// A private redis-server (never restart the shared one)

export interface PrivateRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no save. */
  kill(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const ping = async () => {
    const result = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], {
      timeoutMs: 2000,
    });
    return result.stdout.trim() === 'PONG';
  };
  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      );
      const started = child;
      await waitFor(`redis-server on ${port}`, async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited ${started.exitCode}`);
        return ping();
      });
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const gone = new Promise<void>((r) => running.once('exit', () => r()));
      running.kill('SIGKILL');
      await gone;
    },
  };
  return redis;
}

// ---------------------------------------------------------------------------------------------
// Misc

export async function metricValue(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
