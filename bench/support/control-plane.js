// The real control plane (spawned by app-process.js, as the suites' launcher does) with its own
// database, Redis key prefix, data directory and admin token, dropped at the end;
// the admin API; the real git CLI against its embedded repository.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT, launchControlPlane, untilControlPlaneUp } from './app-process.js';
import {
  freePort,
  machineBusy,
  spawnTracked,
  stopProcess,
  waitFor,
  withTimeout,
} from './processes.js';
import { dropDatabase, dropRedisPrefix } from './run-isolation.js';

export { REPO_ROOT };
const ADMIN_DATABASE =
  process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Starts the built control plane on a free port; resolves once /healthz answers.
 * `destroy()` stops it and drops its database, Redis keys and data directory.
 */
export async function startControlPlane() {
  const id = randomBytes(5).toString('hex');
  const databaseName = `stepgate_bench_${id}`;
  const databaseUrl = new URL(ADMIN_DATABASE);
  databaseUrl.pathname = `/${databaseName}`;
  const redisPrefix = `stepgate-bench-${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'stepgate-bench-cp-'));
  const adminToken = `sg_bench_admin_${randomBytes(16).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child = launchControlPlane({
    port,
    env: {
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL,
      STEPGATE_REDIS_PREFIX: redisPrefix,
      STEPGATE_DATA_DIR: dataDir,
      STEPGATE_ADMIN_TOKEN: adminToken,
    },
    spawner: spawnTracked,
  });
  const keep = (chunk) => {
    log += chunk.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await stopProcess(child, 5000);
    await withTimeout(
      dropDatabase(ADMIN_DATABASE, databaseName),
      15_000,
      `dropping ${databaseName}`,
    ).catch((error) =>
      console.error(`warning: could not drop database ${databaseName}: ${error.message}`),
    );
    await withTimeout(
      dropRedisPrefix(REDIS_URL, redisPrefix),
      15_000,
      `dropping ${redisPrefix}:*`,
    ).catch((error) =>
      console.error(`warning: could not drop Redis keys ${redisPrefix}:*: ${error.message}`),
    );
    rmSync(dataDir, { recursive: true, force: true });
  };
  const cp = {
    url,
    port,
    pid: child.pid,
    child,
    adminToken,
    databaseName,
    databaseUrl: databaseUrl.toString(),
    redisPrefix,
    dataDir,
    destroy,
    output: () => log,
  };
  try {
    await untilControlPlaneUp(child, url, () => log);
  } catch (error) {
    await destroy();
    throw error;
  }
  return cp;
}

/** A JSON call to the control plane's API; throws on a status other than `expect`. */
export async function api(
  cp,
  method,
  path,
  body,
  { token = cp.adminToken, expect = [200, 201] } = {},
) {
  const response = await fetch(`${cp.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  if (!expect.includes(response.status))
    throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// git

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
};
const IDENTITY = ['-c', 'user.name=Bench Runner', '-c', 'user.email=bench@example.com'];

/** The real git CLI; rejects on a non-zero exit or after `timeoutMs`. */
export function gitOk(args, cwd, timeoutMs = 60_000) {
  return new Promise((resolveRun, reject) => {
    const child = spawnTracked('git', [...IDENTITY, '-c', 'init.defaultBranch=main', ...args], {
      cwd,
      env: GIT_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolveRun(stdout.trim());
      else reject(new Error(`git ${args.join(' ')} failed (${status}):\n${stderr}`));
    });
  });
}

export function embeddedRepoUrl(cp) {
  const url = new URL(`${cp.url}/git/policies.git`);
  url.username = 'x';
  url.password = cp.adminToken;
  return url.toString();
}

/** Clones the embedded policy repository into a temp dir. */
export async function cloneEmbedded(cp) {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-clone-'));
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp), dir], undefined, 60_000);
  return dir;
}

/** A new valid policy with its own passing test, committed (not pushed); returns the sha. */
export async function commitNewPolicy(dir, tag) {
  const files = {
    [`bench/${tag}.yaml`]: [
      'apiVersion: stepgate/v1',
      'kind: Policy',
      `name: bench-${tag}`,
      `description: Bench policy ${tag}.`,
      'target:',
      `  actions: ["bench:${tag}"]`,
      'rules:',
      '  - name: testers',
      '    effect: allow',
      '    when: \'"tester" in principal.roles\'',
      '',
    ].join('\n'),
    [`bench/${tag}.test.yaml`]: [
      'apiVersion: stepgate/v1',
      'kind: TestSuite',
      `name: bench ${tag}`,
      'cases:',
      '  - name: a tester is allowed',
      '    input:',
      '      principal: { id: tess, roles: [tester] }',
      `      action: bench:${tag}`,
      '      resource: { kind: thing, id: one }',
      '    expect: { effect: allow }',
      '',
    ].join('\n'),
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  await gitOk(['add', '--all'], dir);
  await gitOk(['commit', '--quiet', '-m', `bench: add ${tag}`], dir);
  return gitOk(['rev-parse', 'HEAD'], dir);
}

export async function listVersions(cp) {
  return (await api(cp, 'GET', '/v1/versions?limit=500')).versions;
}

/** Polls until the version of `sha` exists and matches `when`. */
export async function waitForVersion(cp, sha, when = () => true, timeoutMs = 60_000) {
  let found;
  await waitFor(
    `a version of ${sha.slice(0, 7)}`,
    async () => {
      found = (await listVersions(cp)).find((v) => v.sha === sha);
      return found !== undefined && when(found);
    },
    timeoutMs,
    100,
  );
  return found;
}

/**
 * One agent token per simulated agent, bound to its id (a token is one agent's identity: the
 * control plane refuses a token connecting as a second agent id); resolves with the tokens in
 * the order of `agentIds`. Provisioned in one INSERT, as an operator's bulk provisioning would:
 * 10,000 POST /v1/tokens calls take minutes on this machine, and the bench measures connections.
 * The rows are what POST /v1/tokens {"scopes":["agent"],"agentId"} writes: the token's SHA-256,
 * its first 8 characters, the agent scope and the agent id.
 * @param {{databaseUrl: string}} cp
 * @param {string} name  prefix of the tokens' names
 * @param {string[]} agentIds
 */
export async function agentTokens(cp, name, agentIds) {
  const tokens = agentIds.map(() => `sg_${randomBytes(32).toString('base64url')}`);
  const client = new pg.Client({ connectionString: cp.databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO api_token (id, name, token_hash, prefix, scopes, created_by, agent_id)
       SELECT gen_random_uuid()::text, u.name, u.hash, u.prefix, ARRAY['agent'], 'bench', u.agent_id
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(name, hash, prefix, agent_id)`,
      [
        agentIds.map((id) => `${name}-${id}`.slice(0, 100)),
        tokens.map((token) => createHash('sha256').update(token, 'utf8').digest('hex')),
        tokens.map((token) => token.slice(0, 8)),
        agentIds,
      ],
    );
  } finally {
    await client.end();
  }
  return tokens;
}

/**
 * The start of a fleet benchmark: how busy the machine is (warned about above 10 %), a real
 * control plane destroyed by `cleanups`, and `tokensFor(agentIds)`, which creates one agent
 * token per simulated agent.
 * @param {{ add(step: () => unknown): void }} cleanups
 * @param {string} name  the tokens' name prefix, e.g. "bench-scale"
 * @param {(line: string) => void} log
 */
export async function startFleetBench(cleanups, name, log) {
  const busy = await machineBusy(1000);
  if (busy > 0.1)
    log(
      `warning: the machine is ${(busy * 100).toFixed(0)} % busy before the run: figures will be pessimistic`,
    );
  log('starting the control plane');
  const cp = await startControlPlane();
  cleanups.add(() => cp.destroy());
  /** @param {string[]} agentIds */
  const tokensFor = async (agentIds) => {
    const started = performance.now();
    const tokens = await agentTokens(cp, name, agentIds);
    const seconds = (performance.now() - started) / 1000;
    log(`created ${agentIds.length} agent tokens (one per agent) in ${seconds.toFixed(1)} s`);
    return tokens;
  };
  return { busy, cp, tokensFor };
}
