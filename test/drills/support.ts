/**
 * The failure drills' harness, on top of the control-plane, agent and e2e harnesses: a private
 * PostgreSQL cluster the drill may stop (never the shared one), a TCP proxy that partitions an
 * agent from the control plane, a scan of a process's output for crashes, and the setup every
 * drill shares (a control plane with its seed version active, an agent token, a clone of the
 * embedded policy repository).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  api,
  freePort,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import {
  commit,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  git,
  gitOk,
  metricValue,
  validPolicyFiles,
  waitForVersion,
  type Version,
} from '../integration/control-plane/support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import { decisionIdsOf, exampleCase, tempDir, type AgentProcess } from '../e2e/support.js';

export { api, freePort, metricValue, waitFor, type ControlPlaneProcess, type Version };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Example inputs (from the example policy tests, `auth` dropped), independent of the time of day

export const ALLOW = exampleCase(
  'api/admin-step-up.test.yaml',
  'Staff changing ordinary API resources from home need no step-up',
);
export const DENY = exampleCase(
  'default-deny.test.yaml',
  'An unknown database action is denied by default',
);
export const STEP_UP = exampleCase(
  'api/admin-step-up.test.yaml',
  'An admin creating a user from a home network must step up to MFA',
);

/** A decision on an input a drill pushes a policy for (`it:<tag>` allowed for testers). */
export function taggedInput(tag: string): Record<string, unknown> {
  return {
    principal: { id: 'tess', roles: ['tester'] },
    action: `it:${tag}`,
    resource: { kind: 'thing', id: 'one' },
  };
}

/**
 * Asks `agent` for allow, deny and step_up, `rounds` times; every answer must be the normal
 * one from `revision` (no fail mode). Returns the decision ids, to be found in Postgres later.
 */
export async function decideNormally(
  agent: AgentProcess,
  revision: number,
  rounds = 1,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < rounds; i++)
    for (const example of [ALLOW, DENY, STEP_UP]) {
      const reply = await agent.decide(example.input);
      expect(reply.status, `${agent.name}: ${JSON.stringify(reply.body)}`).toBe(200);
      expect(reply.body).toMatchObject({ effect: example.effect, revision });
      expect(reply.body.failReason).toBeUndefined();
      ids.push(reply.body.decisionId as string);
    }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// A control plane ready for a drill

export interface Drill {
  cp: ControlPlaneProcess;
  /** The token of agent `agentId`, created bound to it (a token is one agent's identity). */
  tokenFor(agentId: string): Promise<string>;
  /** A clone of the embedded policy repository. */
  work: string;
  seed: Version;
  /** The active bundle revision at the start. */
  revision: number;
}

/** Builds what is stale, starts a control plane with `env`, waits for its seed version. */
export async function startDrill(env: Record<string, string> = {}): Promise<Drill> {
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  const cp = await startControlPlane(env);
  const tokenFor = async (agentId: string) => {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: `drill-${agentId}`,
      scopes: ['agent'],
      agentId,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.token as string;
  };
  const work = tempDir('drill-clone');
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  const seed = await waitForVersion(cp, await gitOk(['rev-parse', 'HEAD'], work), (v) => v.active);
  const bundle = await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active');
  expect(bundle.status).toBe(200);
  return { cp, tokenFor, work, seed, revision: bundle.body.revision as number };
}

/** Commits a new valid policy `it:<tag>` and pushes it; resolves with the sha and git's stderr. */
export async function pushPolicy(
  drill: Drill,
  tag: string,
  extra: Record<string, string> = {},
): Promise<{ sha: string; status: number | null; stderr: string }> {
  const sha = await commit(
    drill.work,
    { ...validPolicyFiles(tag), ...extra },
    `Drill: policy ${tag}`,
  );
  const push = await git(['push', 'origin', 'main'], drill.work);
  return { sha, status: push.status, stderr: push.stderr };
}

/** The active bundle revision, once the version `sha` is active. */
export async function activeRevisionOf(drill: Drill, sha: string, timeoutMs = 45_000) {
  await waitForVersion(drill.cp, sha, (v) => v.active, timeoutMs);
  const bundle = await api(drill.cp.url, drill.cp.adminToken, 'GET', '/v1/bundles/active');
  expect(bundle.status).toBe(200);
  return bundle.body.revision as number;
}

/** Same process all along: the control plane's start time, from its metrics. */
export function startTimeOf(cp: ControlPlaneProcess): Promise<number> {
  return metricValue(cp.url, 'stepgate_control_plane_process_start_time_seconds');
}

// ---------------------------------------------------------------------------------------------
// Crashes

const CRASH_SIGNS = [
  /uncaught/i,
  /unhandled ?rejection/i,
  /"msg":"unhandled error"/, // the control plane's 500 handler: an error nobody expected
  /^\s+at .+[:(]\d+:\d+\)?$/m, // a stack trace printed raw
  /^(\w+)?Error(:|\s\[)/m,
  /FATAL ERROR/,
  /"level":(50|60)\b/, // pino error / fatal
  /"level":"(error|fatal)"/,
];

/** The lines of `output` that say a process crashed or hit an error nobody expected. */
export function crashLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => CRASH_SIGNS.some((sign) => sign.test(line)))
    .slice(0, 20);
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL cluster (the shared one on 5432 is never stopped)

const PG_BIN = '/usr/lib/postgresql/15/bin';

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

async function runOk(command: string, args: string[]): Promise<void> {
  const result = await run(command, args);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.output}`);
}

/** PostgreSQL runs as `postgres`; as root we switch to it, as that user we run it directly. */
function asPostgres(binary: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args]]
    : [join(PG_BIN, binary), args];
}

export interface PrivatePostgres {
  port: number;
  /** A connection URL for database `name` on this cluster. */
  url(name: string): string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: connections are terminated, as in a real outage. */
  stop(): Promise<void>;
  /** Stops it (immediately) and removes its files. */
  destroy(): Promise<void>;
}

/** initdb + pg_ctl in a temp dir owned by `postgres`, on a free port, trust auth on 127.0.0.1. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'stepgate-drill-pg-'));
  const data = join(root, 'data');
  if (process.getuid?.() === 0) await runOk('chown', ['postgres:postgres', root]);
  await runOk(
    ...asPostgres('initdb', [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
    ]),
  );
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${root}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
  ].join(' ');
  const pgCtl = (...args: string[]) => runOk(...asPostgres('pg_ctl', ['-D', data, ...args]));
  let running = false;
  return {
    port,
    url: (name) => `postgresql://postgres@127.0.0.1:${port}/${name}`,
    async start() {
      await pgCtl('-o', options, '-l', join(root, 'server.log'), '-w', 'start');
      running = true;
    },
    async stop() {
      await pgCtl('-w', 'stop', '-m', 'fast');
      running = false;
    },
    async destroy() {
      if (running) await pgCtl('-w', 'stop', '-m', 'immediate').catch(() => undefined);
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A network partition between an agent and the control plane

/**
 * A TCP proxy in front of the control plane. `cut()` resets every connection through it and
 * refuses new ones (the agent's socket is gone, its retries fail) until `heal()`.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private isCut = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targetUrl: string): Promise<TcpProxy> {
    const target = new URL(targetUrl);
    const server = createServer();
    const port = await new Promise<number>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolveListen(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const proxy = new TcpProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  private accept(client: Socket, target: URL): void {
    if (this.isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.sockets.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  /** Connections currently open through the proxy (client and upstream sides). */
  get open(): number {
    return this.sockets.size;
  }

  cut(): void {
    this.isCut = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  heal(): void {
    this.isCut = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolveClose) => this.server.close(() => resolveClose()));
  }
}

/**
 * Waits until every decision id each agent returned is in `GET /v1/decisions` (no accepted
 * log lost); on timeout the error says how many are missing per agent. Resolves with that
 * count per agent (all 0).
 */
export async function waitForDecisionsStored(
  drill: Drill,
  decided: ReadonlyMap<string, readonly string[]>,
  what: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<Record<string, number>> {
  const missing: Record<string, number> = {};
  await waitFor(
    `every decision of ${what} in GET /v1/decisions`,
    async () => {
      let complete = true;
      for (const [agentId, ids] of decided) {
        const held = await decisionIdsOf(drill.cp, drill.cp.adminToken, agentId);
        missing[agentId] = ids.filter((id) => !held.has(id)).length;
        if (missing[agentId] > 0) complete = false;
      }
      return complete;
    },
    timeoutMs,
    intervalMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; missing per agent: ${JSON.stringify(missing)}`);
  });
  return missing;
}
