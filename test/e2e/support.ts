/**
 * The end-to-end harness: the real control plane (child process, PostgreSQL, Redis, see
 * test/support/control-plane-process.ts) and real agent processes (apps/agent/dist/main.js),
 * each with its own port, cache dir, id and labels, that can be stopped and started again on the
 * same port and cache dir. Plus: example inputs read from the policy test files, the policy
 * edit pushed by the fleet suite, and a few polling helpers.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  api,
  freePort,
  REPO_ROOT,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../support/control-plane-process.js';
import { spawnAgent } from '../support/agent-process.js';
import { ensureAgentBuilt, ensureControlPlaneBuilt } from '../support/fresh-build.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import { createToken } from '../integration/control-plane/support.js';

export { api, freePort, REPO_ROOT, waitFor };

// ---------------------------------------------------------------------------------------------
// Temp dirs

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `stepgate-e2e-${prefix}-`));
  made.push(dir);
  return dir;
}

/** A copy of an agent's cache dir (bundles, pinned keys, sync time, agent id). */
export function copyDir(from: string, prefix: string): string {
  const dir = tempDir(prefix);
  cpSync(from, dir, { recursive: true });
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  body: any;
}

export async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics): keep the text
  }
  return { status: response.status, body: parsed } as Reply;
}

/** GET on the control plane that must answer 200. */
export async function getOk(cp: ControlPlaneProcess, token: string, path: string): Promise<any> {
  const response = await api(cp.url, token, 'GET', path);
  if (response.status !== 200)
    throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

// ---------------------------------------------------------------------------------------------
// Agent processes

/** Every agent started by this module, for cleanup. */
const agents = new Set<AgentProcess>();

export interface AgentOptions {
  name: string;
  url: string;
  token: string;
  agentId?: string;
  labels?: Record<string, string>;
  cacheDir?: string;
  /** Other STEPGATE_* settings (fail mode, max staleness...). */
  env?: Record<string, string>;
}

/**
 * One real agent process. `stop()` + `start()` is a restart on the same port and cache dir;
 * `env` may be changed between the two (e.g. another control-plane URL).
 */
export class AgentProcess {
  readonly url: string;
  env: Record<string, string>;
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly cacheDir: string,
    env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.env = env;
  }

  static async start(options: AgentOptions): Promise<AgentProcess> {
    const env: Record<string, string> = {
      STEPGATE_URL: options.url,
      STEPGATE_AGENT_TOKEN: options.token,
      ...(options.agentId ? { STEPGATE_AGENT_ID: options.agentId } : {}),
      ...(options.labels
        ? {
            STEPGATE_AGENT_LABELS: Object.entries(options.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          }
        : {}),
      ...options.env,
    };
    const agent = new AgentProcess(
      options.name,
      await freePort(),
      options.cacheDir ?? tempDir(`cache-${options.name}`),
      env,
    );
    agents.add(agent);
    await agent.start();
    return agent;
  }

  get agentId(): string | undefined {
    return this.env.STEPGATE_AGENT_ID;
  }

  output(): string {
    return this.log;
  }

  alive(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Spawns the agent and waits until it answers /healthz. */
  async start(): Promise<void> {
    if (this.alive()) throw new Error(`agent ${this.name} is already running`);
    this.log += `--- start ${new Date().toISOString()}\n`;
    const { child } = await spawnAgent({
      port: this.port,
      cacheDir: this.cacheDir,
      env: this.env,
      logLevel: 'info',
      onOutput: (text) => (this.log += text),
      output: () => this.log,
    });
    this.child = child;
  }

  /** SIGTERM (the agent's own shutdown: flush, save the sync time), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  }

  decide(input: unknown): Promise<Reply> {
    return call(this.url, 'POST', '/v1/decide', input);
  }

  readyz(): Promise<Reply> {
    return call(this.url, 'GET', '/readyz');
  }

  async metric(name: string): Promise<number> {
    const text = (await call(this.url, 'GET', '/metrics')).body as string;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    if (line === undefined) throw new Error(`no metric ${name} on agent ${this.name}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
}

/**
 * Starts one agent per name against `cp`, each with an agent token of its own and the id
 * `e2e-<prefix>-<name>` (so GET /v1/agents and /v1/decisions can find it), all at once.
 */
export async function startAgents(
  cp: ControlPlaneProcess,
  prefix: string,
  names: readonly string[],
): Promise<AgentProcess[]> {
  return Promise.all(
    names.map(async (name) =>
      AgentProcess.start({
        name: `${prefix}-${name}`,
        url: cp.url,
        token: (await createToken(cp, `e2e-${prefix}-${name}`, ['agent'])).token,
        agentId: `e2e-${prefix}-${name}`,
      }),
    ),
  );
}

export async function killAllAgents(): Promise<void> {
  await Promise.all([...agents].map((agent) => agent.kill()));
  agents.clear();
}

/**
 * Polls `decide(input)` on every agent at once until `done(body)` holds for each; returns the
 * milliseconds from `since` at which each agent first answered so (and the answers).
 */
export async function untilAllDecide(
  fleet: AgentProcess[],
  input: unknown,
  done: (body: any) => boolean,
  since: number,
  timeoutMs = 30_000,
): Promise<{ ms: number[]; bodies: any[] }> {
  const ms: number[] = [];
  const bodies: any[] = [];
  await Promise.all(
    fleet.map((agent, i) =>
      waitFor(
        `agent ${agent.name} to decide as expected`,
        async () => {
          const reply = await agent.decide(input);
          if (reply.status === 200 && done(reply.body)) {
            ms[i] = performance.now() - since;
            bodies[i] = reply.body;
            return true;
          }
          return false;
        },
        timeoutMs,
        10,
      ),
    ),
  );
  return { ms, bodies };
}

// ---------------------------------------------------------------------------------------------
// Example inputs, read from the example policy tests

export interface ExampleCase {
  /** The test input without `auth`: on an agent, evidence comes only from a verified token. */
  input: Record<string, unknown>;
  effect: 'allow' | 'deny' | 'step_up';
}

/** The case called `name` of policies/<file>. */
export function exampleCase(file: string, name: string): ExampleCase {
  const suite = parse(readFileSync(join(REPO_ROOT, 'policies', file), 'utf8')) as {
    cases: { name: string; input: Record<string, unknown>; expect: { effect: string } }[];
  };
  const found = suite.cases.find((c) => c.name === name);
  if (!found) throw new Error(`policies/${file} has no case "${name}": update the e2e suite`);
  const { auth: _auth, ...input } = found.input;
  return { input, effect: found.expect.effect as ExampleCase['effect'] };
}

/** A policy edit: replace `from` by `to` in `file`, failing loudly when `from` is gone. */
export function edit(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** Flips one character in the middle of one part (0 header, 1 payload, 2 signature) of a JWS. */
export function tamperJws(jws: string, part: 1 | 2): string {
  const parts = jws.trim().split('.');
  if (parts.length !== 3) throw new Error('not a compact JWS');
  const target = parts[part]!;
  const middle = Math.floor(target.length / 2);
  const flipped = target[middle] === 'A' ? 'B' : 'A';
  parts[part] = `${target.slice(0, middle)}${flipped}${target.slice(middle + 1)}`;
  return parts.join('.');
}

/** Every decision id the control plane holds for one agent (all pages). */
export async function decisionIdsOf(
  cp: ControlPlaneProcess,
  token: string,
  agentId: string,
): Promise<Map<string, any>> {
  const found = new Map<string, any>();
  let cursor: string | null = null;
  do {
    const page: any = await getOk(
      cp,
      token,
      `/v1/decisions?agent=${encodeURIComponent(agentId)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    );
    for (const d of page.decisions) found.set(d.decisionId, d);
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

export interface PolicyFleet {
  cp: ControlPlaneProcess;
  agent: AgentProcess;
  /** A token per person, by subject. */
  tokens: Record<string, string>;
}

/**
 * The set-up of the step-up and approval suites: a control plane with `policies` pushed and
 * active, a token for each person (subject: scopes), and one agent enforcing that revision.
 */
export async function startPolicyFleet(options: {
  name: string;
  people: Record<string, string[]>;
  policies: Record<string, string>;
  message: string;
  /** Control-plane settings on top of the harness defaults (STEPGATE_JWKS_REFRESH...). */
  env?: Record<string, string>;
  /** The control plane's port (default: a free one). */
  port?: number;
}): Promise<PolicyFleet> {
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  const cp = await startControlPlane(options.env, { port: options.port });
  const tokens: Record<string, string> = {};
  for (const [subject, scopes] of Object.entries(options.people)) {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: `e2e-${subject}`,
      scopes,
      subject,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    tokens[subject] = created.body.token as string;
  }
  const clone = tempDir(`${options.name}-clone`);
  await cloneEmbedded(cp, clone);
  await pushPolicies(cp, clone, options.policies, options.message);
  const agent = await AgentProcess.start({
    name: `${options.name}-agent`,
    url: cp.url,
    token: (await createToken(cp, `e2e-${options.name}-agent`, ['agent'])).token,
  });
  const fleet = await api(cp.url, cp.adminToken, 'GET', '/v1/fleet');
  await waitFor(
    'the agent to enforce the active revision',
    async () => {
      const ready = await agent.readyz();
      return ready.status === 200 && ready.body.revision === fleet.body.activeRevision;
    },
    30_000,
  );
  return { cp, agent, tokens };
}
