/**
 * Test support: the Debian nginx as a child process with its own prefix, config, pid, logs
 * and temp dirs (nothing under /etc or /var is used), and a small application that echoes
 * the headers it received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../../support/control-plane-process.js';
import { nginxConfig } from './nginx-config.js';

export const NGINX_BINARY = '/usr/sbin/nginx';

export interface NginxProcess {
  url: string;
  config: string;
  /** The error log so far (for failure messages). */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx in front of `upstream` asking the agent at `agent` (both `host:port`).
 * @throws when nginx is not installed (the suite must fail, not skip: `.ci/run` installs it),
 *   when the config is refused, or when nginx does not listen within 10 s.
 */
export function startNginx(agent: string, upstream: string): Promise<NginxProcess> {
  return spawnNginx((listen, runDir) => nginxConfig({ listen, agent, upstream, runDir }));
}

/**
 * Starts nginx with the config `configFor` writes for its listen address (`127.0.0.1:<port>`)
 * and private run dir; `scheme` is the scheme of the returned url (`https` for a TLS listener).
 */
export async function spawnNginx(
  configFor: (listen: string, runDir: string) => string,
  scheme: 'http' | 'https' = 'http',
): Promise<NginxProcess> {
  if (!existsSync(NGINX_BINARY))
    throw new Error(
      `nginx is not installed at ${NGINX_BINARY}: apt-get install -y nginx (.ci/run does this in CI)`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-nginx-'));
  // Started as root, nginx runs its worker as `nobody`, which must reach the temp dirs inside.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const config = configFor(`127.0.0.1:${port}`, dir);
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config);
  const errorLog = join(dir, 'error.log');
  const errors = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');

  // `-e` keeps even start-up errors (before the config is read) out of /var/log.
  const args = ['-p', dir, '-c', configPath, '-e', errorLog];
  const check = await run(NGINX_BINARY, [...args, '-t']);
  if (check.code !== 0) throw new Error(`nginx refused its config:\n${check.output}\n${config}`);

  const child: ChildProcess = spawn(NGINX_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  try {
    await waitFor(
      `nginx on 127.0.0.1:${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${output}\n${errors()}`);
        return listening(port);
      },
      10_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    config,
    errors,
    async stop() {
      // SIGTERM: the master stops its worker and exits (fast shutdown).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('close', (code) => done({ code, output }));
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Bytes of request body received. */
  bodyBytes: number;
}

export interface EchoUpstream {
  /** `127.0.0.1:<port>` */
  address: string;
  /** Every request that reached the application. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** The protected application: answers 200 with the method, URL and headers it received. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const request = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
    };
    req.on('data', (chunk: Buffer) => (request.bodyBytes += chunk.length));
    req.on('end', () => {
      seen.push(request);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(request));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
