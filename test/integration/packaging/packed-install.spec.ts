/**
 * Stepgate installed from its tarballs, outside the repository: scripts/pack.mjs packs every
 * published package, and an empty directory under the system temp dir (no package.json above
 * it, so no workspace) gets `npm install <tarballs>` with the rest from the registry. Then the
 * installed `stepgate test` runs the example policies; the `stepgate-agent` bin, installed
 * alone into a second empty directory (as the agent image does), decides against a real
 * control plane; and a tiny Express app and a tiny NestJS app decide through `@stepgate/sdk`'s
 * middleware and guard with the control plane's signed bundle.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  freePort,
  REPO_ROOT,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { ensureControlPlaneBuilt } from '../../support/fresh-build.js';
import { exampleCase } from '../../e2e/support.js';

const PACKAGES = [
  '@stepgate/protocol',
  '@stepgate/policy',
  '@stepgate/agent-core',
  '@stepgate/sdk',
  '@stepgate/agent',
  '@stepgate/cli',
];
/** What a NestJS 12 app on Express needs, from the registry. */
const NEST_PACKAGES = [
  '@nestjs/common@12',
  '@nestjs/core@12',
  '@nestjs/platform-express@12',
  'reflect-metadata',
  'rxjs',
];
/** npm install from the registry on a busy machine. */
const INSTALL_TIMEOUT_MS = 300_000;

const ALLOW = exampleCase(
  'api/admin-step-up.test.yaml',
  'Staff changing ordinary API resources from home need no step-up',
);
const DENY = exampleCase(
  'default-deny.test.yaml',
  'An unknown database action is denied by default',
);
const STEP_UP = exampleCase(
  'api/admin-step-up.test.yaml',
  'An admin creating a user from a home network must step up to MFA',
);

let packs: string;
let app: string;
/** @stepgate/agent installed alone, as the agent image does: nothing else to lean on. */
let agentOnly: string;
let cp: ControlPlaneProcess | undefined;
const children: ChildProcess[] = [];

/** The environment of a child in the install: no npm_* settings inherited from this run's npm. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^npm_/i.test(key) && value !== undefined) env[key] = value;
  return { ...env, ...extra };
}

function runIn(
  dir: string,
  command: string,
  args: string[],
  timeout = 120_000,
  env: Record<string, string> = {},
) {
  const run = spawnSync(command, args, {
    cwd: dir,
    encoding: 'utf8',
    env: cleanEnv(env),
    timeout,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}`, stdout: run.stdout };
}

function runOk(dir: string, command: string, args: string[], timeout?: number): string {
  const run = runIn(dir, command, args, timeout);
  if (run.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${run.status}:\n${run.output}`);
  return run.stdout;
}

/** Starts a process of the install and resolves with it once `ready()` holds. */
async function startIn(
  cwd: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}:\n${log}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([
    waitFor(`${command} to come up`, ready, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${log}`);
    }),
    exited,
  ]);
  return { child, output: () => log };
}

/**
 * The apps, as a user would write them: the control plane's keys and signed bundle fetched
 * once, verified in-process by createDecisionPoint, enforced by the middleware or the guard.
 * The principal comes from an `x-user` header, standing in for an authentication middleware.
 */
const SDK_SETUP = `import { createDecisionPoint } from '@stepgate/sdk';

const get = async (path) => {
  const response = await fetch(process.env.CP_URL + path, {
    headers: { authorization: 'Bearer ' + process.env.CP_TOKEN },
  });
  if (!response.ok) throw new Error(path + ': ' + response.status + ' ' + (await response.text()));
  return response.json();
};
const sdk = await createDecisionPoint({
  trustedKeys: await get('/v1/keys'),
  bundle: (await get('/v1/bundles/active')).jws,
});
const authenticate = (req, _res, next) => {
  const user = req.headers['x-user'];
  if (user) req.user = JSON.parse(user);
  next();
};
`;

const EXPRESS_APP = `import express from 'express';
import { expressMiddleware } from '@stepgate/sdk';

const app = express();
app.use(authenticate);
app.use(expressMiddleware(sdk.point));
app.use((req, res) => res.json({ served: req.path, effect: res.locals.stepgate.effect }));
app.listen(Number(process.env.PORT), '127.0.0.1');
`;

/** NestJS without a compiler: the decorators applied by hand. */
const NEST_APP = `import 'reflect-metadata';
import { All, Controller, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { StepgateGuard } from '@stepgate/sdk';

class Served {
  serve(req) {
    return { served: req.path };
  }
}
Controller()(Served);
All('*path')(Served.prototype, 'serve', Object.getOwnPropertyDescriptor(Served.prototype, 'serve'));
Req()(Served.prototype, 'serve', 0);
class AppModule {}
Module({ controllers: [Served] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error'] });
app.use(authenticate);
app.useGlobalGuards(new StepgateGuard(sdk.point));
await app.listen(Number(process.env.PORT), '127.0.0.1');
`;

beforeAll(async () => {
  // The control plane (and with it `npm run build`) first, so pack.mjs's own build is a no-op.
  await ensureControlPlaneBuilt();
  packs = mkdtempSync(join(tmpdir(), 'stepgate-packs-'));
  const printed = runOk(
    REPO_ROOT,
    process.execPath,
    ['scripts/pack.mjs', '--out', packs],
    INSTALL_TIMEOUT_MS,
  );
  const tarballs = printed.trim().split('\n');
  expect(tarballs).toHaveLength(PACKAGES.length);

  app = mkdtempSync(join(tmpdir(), 'stepgate-installed-'));
  for (let dir = dirname(app); dir !== dirname(dir); dir = dirname(dir))
    expect(existsSync(join(dir, 'package.json')), `${dir}/package.json`).toBe(false);
  runOk(app, 'npm', ['init', '-y']);
  // No workspace above it: npm's project root is the directory itself.
  expect(runOk(app, 'npm', ['prefix']).trim()).toBe(app);
  runOk(
    app,
    'npm',
    ['install', '--no-audit', '--no-fund', ...tarballs, 'express@5', ...NEST_PACKAGES],
    INSTALL_TIMEOUT_MS,
  );
  agentOnly = mkdtempSync(join(tmpdir(), 'stepgate-agent-only-'));
  runOk(agentOnly, 'npm', ['init', '-y']);
  const agentTarball = tarballs.find((path) => /stepgate-agent-\d/.test(path));
  runOk(agentOnly, 'npm', ['install', '--no-audit', '--no-fund', agentTarball!]);
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await cp?.destroy();
  for (const dir of [packs, app, agentOnly]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages installed in an empty directory', () => {
  it('are the tarballs, none fetched from elsewhere; the agent package has no dependencies', () => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; dependencies?: object }>;
    };
    for (const name of PACKAGES) {
      expect(lock.packages[`node_modules/${name}`]?.resolved, name).toMatch(/^file:.*\.tgz$/);
    }
    const nested = Object.keys(lock.packages).filter((path) =>
      /node_modules\/.*node_modules\/@stepgate\//.test(path),
    );
    expect(nested).toEqual([]);
    expect(lock.packages['node_modules/@stepgate/agent']?.dependencies).toBeUndefined();
    // Installed alone, the agent brings nothing else.
    const installed = readdirSync(join(agentOnly, 'node_modules')).filter(
      (n) => !n.startsWith('.'),
    );
    expect(installed).toEqual(['@stepgate']);
    expect(readdirSync(join(agentOnly, 'node_modules/@stepgate'))).toEqual(['agent']);
  });

  it('stepgate test passes on a copy of policies/', () => {
    const policies = join(app, 'policies');
    cpSync(join(REPO_ROOT, 'policies'), policies, { recursive: true });
    const run = runIn(app, 'npx', ['--no-install', 'stepgate', 'test', 'policies']);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/\d+ passed, 0 failed/);
  });

  it('stepgate agent --help runs the installed agent', () => {
    // The package ships only the bundle, so that is what the CLI finds and runs.
    const agent = join(app, 'node_modules/@stepgate/agent');
    expect(readdirSync(join(agent, 'dist')).sort()).toEqual(['stepgate-agent.js', 'swagger-ui']);
    const run = runIn(app, 'npx', ['--no-install', 'stepgate', 'agent', '--help']);
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toMatch(/STEPGATE_AGENT_TOKEN/);
  });

  describe('against a real control plane', () => {
    let agentToken: string;

    beforeAll(async () => {
      cp = await startControlPlane();
      const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
        name: 'packed-install-agent',
        scopes: ['agent'],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      agentToken = created.body.token as string;
      // The example policies seed the control plane; their first version must be active.
      await waitFor(
        'the seeded version to be active',
        async () =>
          (await api(cp!.url, cp!.adminToken, 'GET', '/v1/fleet')).body?.activeRevision != null,
        180_000,
        500,
      );
    }, 240_000);

    it('the installed stepgate lists the versions of the control plane', () => {
      const run = runIn(app, 'npx', ['--no-install', 'stepgate', 'versions', '--json'], 60_000, {
        STEPGATE_URL: cp!.url,
        STEPGATE_TOKEN: cp!.adminToken,
      });
      expect(run.status, run.output).toBe(0);
      expect(JSON.stringify(JSON.parse(run.stdout))).toMatch(/"active":true/);
    });

    it('the stepgate-agent bin, installed alone, decides with the active bundle', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const cacheDir = join(agentOnly, 'agent-cache');
      await startIn(
        agentOnly,
        join(agentOnly, 'node_modules/.bin/stepgate-agent'),
        [],
        {
          PATH: process.env.PATH ?? '',
          STEPGATE_URL: cp!.url,
          STEPGATE_AGENT_TOKEN: agentToken,
          STEPGATE_AGENT_PORT: String(port),
          STEPGATE_AGENT_HOST: '127.0.0.1',
          STEPGATE_CACHE_DIR: cacheDir,
          STEPGATE_LOG_LEVEL: 'warn',
        },
        async () => (await fetch(`${url}/healthz`)).ok,
      );
      const fleet = await api(cp!.url, cp!.adminToken, 'GET', '/v1/fleet');
      await waitFor(
        'the agent to enforce the active revision',
        async () => {
          const ready = await fetch(`${url}/readyz`);
          return (
            ready.ok &&
            ((await ready.json()) as { revision?: number }).revision === fleet.body.activeRevision
          );
        },
        60_000,
      );
      for (const example of [ALLOW, DENY, STEP_UP]) {
        const response = await fetch(`${url}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(example.input),
        });
        expect(response.status).toBe(200);
        expect(((await response.json()) as { effect: string }).effect).toBe(example.effect);
      }
      // The API reference's files are the ones copied beside the bundle.
      const css = await fetch(`${url}/docs/assets/swagger-ui.css`);
      expect(css.status).toBe(200);
    }, 120_000);

    it.each([
      ['Express', 'express.mjs', EXPRESS_APP],
      ['NestJS', 'nest.mjs', NEST_APP],
    ])(
      'a tiny %s app decides through @stepgate/sdk',
      async (_, file, source) => {
        writeFileSync(join(app, file), `${SDK_SETUP}\n${source}`);
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const server = await startIn(
          app,
          process.execPath,
          [file],
          {
            PATH: process.env.PATH ?? '',
            CP_URL: cp!.url,
            CP_TOKEN: agentToken,
            PORT: String(port),
          },
          // Up once it answers at all: every path, /healthz too, is decided by the policies.
          async () => (await fetch(`${url}/healthz`)).status > 0,
        );
        const as = (user: object | undefined) => ({
          headers: user ? { 'x-user': JSON.stringify(user) } : {},
        });
        const erin = { id: 'erin', groups: ['staff'] };
        const adam = { id: 'adam', groups: ['staff'], roles: ['api-admin'] };

        const allowed = await fetch(`${url}/api/orders`, { method: 'POST', ...as(erin) });
        expect(allowed.status, server.output()).toBe(200);
        expect(await allowed.json()).toMatchObject({ served: '/api/orders' });
        expect(allowed.headers.get('x-stepgate-decision-id')).toBeTruthy();

        const denied = await fetch(`${url}/api/orders`, as(undefined));
        expect(denied.status).toBe(403);
        expect(await denied.json()).toMatchObject({ error: 'auth/forbidden' });

        // From 127.0.0.1, outside the corporate ranges: admin changes need MFA.
        const stepUp = await fetch(`${url}/admin/users`, { method: 'POST', ...as(adam) });
        expect(stepUp.status).toBe(401);
        expect(stepUp.headers.get('www-authenticate')).toMatch(/insufficient_user_authentication/);
        expect(await stepUp.json()).toMatchObject({
          error: 'auth/step_up_required',
          require: { level: 'mfa' },
        });
      },
      60_000,
    );
  });
});
