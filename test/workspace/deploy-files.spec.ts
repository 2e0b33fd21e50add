/**
 * The deploy files that cannot be run here: Docker has no daemon on these machines, so the
 * Dockerfiles are parsed and held to what CI tests (the agent image installs the tarball
 * scripts/pack.mjs makes; the control plane image runs `npm run build`), their shared health
 * check runs against real servers, and the systemd unit goes through `systemd-analyze verify`.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** A Dockerfile as stages (each starting at FROM) of instructions, continuation lines joined. */
function stages(path: string): Instruction[][] {
  const logical = read(path)
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const result: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    const instruction = { keyword: keyword!.toUpperCase(), args: args!.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') result.push([]);
    else if (result.length === 0 && instruction.keyword !== 'ARG')
      throw new Error(`${path}: ${instruction.keyword} before FROM`);
    result.at(-1)?.push(instruction);
  }
  return result;
}
const args = (stage: Instruction[], keyword: string) =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);

const agentPackage = JSON.parse(read('apps/agent/package.json')) as {
  name: string;
  bin: Record<string, string>;
};
/** A default port as the app's own configuration states it. */
const agentPort = /--port <port>\s+STEPGATE_AGENT_PORT\s+default (\d+)/.exec(
  read('apps/agent/src/config.ts'),
)![1];
const controlPlanePort = /PORT: z\.coerce[^\n]*\.default\((\d+)\)/.exec(
  read('apps/control-plane/src/config/configuration.ts'),
)![1];

describe.each([
  { file: 'deploy/docker/agent.Dockerfile', port: agentPort },
  { file: 'deploy/docker/control-plane.Dockerfile', port: controlPlanePort },
])('$file', ({ file, port }) => {
  const all = stages(file);
  const final = all.at(-1)!;

  it('builds in one stage and runs from a slim one, on a base pinned by tag', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(args(all[0]!, 'RUN').join(' ')).toContain('npm ci');
    expect(read(file)).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-\w+-slim$/m);
  });

  it('runs as a numeric non-root user, exposes the app port and checks /healthz', () => {
    const [user] = args(final, 'USER');
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user!.split(':')[0])).toBeGreaterThan(0);
    expect(args(final, 'EXPOSE')).toEqual([port]);
    const [healthcheck] = args(final, 'HEALTHCHECK');
    expect(healthcheck).toContain('CMD ["node", "/usr/local/lib/stepgate/healthcheck.mjs"]');
    expect(args(final, 'COPY')).toContain(
      'deploy/docker/healthcheck.mjs /usr/local/lib/stepgate/healthcheck.mjs',
    );
  });

  it('copies from the build context only files that exist and .dockerignore keeps', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    for (const copy of all.flat().filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--')))
      for (const source of copy.args.split(' ').slice(0, -1)) {
        if (source === '.') continue;
        expect(existsSync(join(repoRoot, source)), source).toBe(true);
        expect(
          ignored.some((pattern) => source.startsWith(pattern)),
          source,
        ).toBe(false);
      }
  });
});

describe('the agent image installs what CI tests', () => {
  const [build, runtime] = stages('deploy/docker/agent.Dockerfile');

  it('packs the packages with scripts/pack.mjs, the script CI installs from', () => {
    expect(args(build!, 'RUN').join(' ')).toMatch(/node scripts\/pack\.mjs --out \/pkgs/);
    expect(existsSync(join(repoRoot, 'scripts/pack.mjs'))).toBe(true);
  });

  it("installs the agent's tarball and starts its bin", () => {
    const tarball = `${agentPackage.name.replace('@', '').replace('/', '-')}-[0-9]*.tgz`;
    expect(args(runtime!, 'RUN').join(' ')).toContain(
      `npm install --global --omit=dev /pkgs/${tarball}`,
    );
    expect(args(runtime!, 'ENTRYPOINT')).toEqual([`["${Object.keys(agentPackage.bin)[0]}"]`]);
  });
});

describe('the control plane image is the workspace CI builds', () => {
  const [build, runtime] = stages('deploy/docker/control-plane.Dockerfile');

  it('builds with npm run build and runs the built main.js', () => {
    expect(args(build!, 'RUN').join(' ')).toMatch(
      /npm ci .*&& npm run build && npm prune --omit=dev/,
    );
    // What `npm run start:control-plane` runs (test-support.spec.ts keeps launchers in one place).
    const [cmd] = args(runtime!, 'CMD');
    expect(JSON.parse(cmd!)).toEqual(['node', join('apps/control-plane', 'dist/main.js')]);
  });

  it('carries what start-up needs: migrations, their script, the console', () => {
    const copied = args(runtime!, 'COPY').map((copy) =>
      copy.split(' ').at(-1)!.replace(/^\.\//, ''),
    );
    // apply-migrations.ts runs scripts/db/migrate.mjs, which reads prisma/migrations.
    for (const path of ['scripts/db', 'prisma', 'apps/console/dist', 'apps/control-plane'])
      expect(copied, path).toContain(path);
    expect(read('apps/control-plane/src/database/apply-migrations.ts')).toContain(
      "path.join('scripts', 'db', 'migrate.mjs')",
    );
  });
});

describe('deploy/docker/healthcheck.mjs', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  /** Exit code of the health check against a local server answering /healthz with `status`. */
  async function healthcheck(status: number): Promise<number> {
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/healthz' ? status : 404;
      response.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await run(process.execPath, [join(repoRoot, 'deploy/docker/healthcheck.mjs')], {
        env: { PATH: process.env.PATH, PORT: String(port) },
      });
      return 0;
    } catch (error) {
      return (error as { code: number }).code;
    }
  }

  it('exits 0 when /healthz answers 200, 1 otherwise', async () => {
    expect(await healthcheck(200)).toBe(0);
    expect(await healthcheck(503)).toBe(1);
  });
});

describe('deploy/systemd/stepgate-agent.service', () => {
  const unit = read('deploy/systemd/stepgate-agent.service');

  it('passes systemd-analyze verify with no warning', async () => {
    // verify checks that ExecStart's program exists: it is /usr/bin/env, which finds the
    // npm-installed stepgate-agent at run time, so the unit verifies as shipped, without the
    // agent installed. A copy in a fresh directory keeps the unit name and no other unit around.
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-systemd-'));
    copyFileSync(
      join(repoRoot, 'deploy/systemd/stepgate-agent.service'),
      join(dir, 'stepgate-agent.service'),
    );
    const { stdout, stderr } = await run('systemd-analyze', [
      'verify',
      join(dir, 'stepgate-agent.service'),
    ]);
    expect(stdout + stderr).toBe('');
  });

  it('starts the package bin, hardened', () => {
    expect(unit).toContain(`ExecStart=/usr/bin/env ${Object.keys(agentPackage.bin)[0]}\n`);
    for (const line of [
      'DynamicUser=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'StateDirectory=stepgate-agent',
      'Environment=STEPGATE_CACHE_DIR=/var/lib/stepgate-agent',
      'EnvironmentFile=-/etc/stepgate/agent.env',
    ])
      expect(unit.split('\n'), line).toContain(line);
  });
});
