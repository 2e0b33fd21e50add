/**
 * The agent suites' harness: an up-to-date build of the real agent, the agent as a child
 * process, and a small fake control plane (socket.io on `/agents`) that signs real bundles
 * compiled from policy files.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { compile, type CompiledPolicySet } from '@stepgate/policy';
import { freePort, waitFor } from '../../support/control-plane-process.js';
import { spawnAgent } from '../../support/agent-process.js';
import type { TlsClient } from '../../support/https-client.js';
import { ensureAgentBuilt } from '../../support/fresh-build.js';
import {
  agentHandshakeSchema,
  AGENT_NAMESPACE,
  bundleHashOf,
  generateSigningKey,
  importSigningKey,
  logBatchSchema,
  signBundle,
  signGrant,
  signGrantsMessage,
  signShadowCleared,
  toJwks,
  type AgentHandshake,
  type AgentToServerEvents,
  type BundleAck,
  type BundleJwks,
  type BundlePayload,
  type BundleRejected,
  type BundleSigningKey,
  type DataAck,
  type DataMessage,
  type DataResync,
  type DecisionRecord,
  type GrantClaims,
  type GrantsMessage,
  type LogBatch,
  type LogBatchAck,
  type ServerToAgentEvents,
  type ShadowClearedMessage,
} from '@stepgate/protocol';
import { Server as SocketServer, type Namespace } from 'socket.io';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

// ---------------------------------------------------------------------------------------------
// Small helpers

// Port and polling helpers are shared with the control-plane harness.
export { ensureAgentBuilt, freePort, waitFor };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `stepgate-agent-${prefix}-`));
}

// ---------------------------------------------------------------------------------------------
// Policies and bundles

function readPolicyDir(dir: string): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ya?ml|json)$/.test(entry.name))
        files.push({
          path: relative(dir, full).split(sep).join('/'),
          content: readFileSync(full, 'utf8'),
        });
    }
  };
  walk(dir);
  return files;
}

/** Compiles a policy repository directory (plus `extra` files) as the control plane would. */
export function compilePolicyDir(
  dir: string,
  extra: readonly { path: string; content: string }[] = [],
): CompiledPolicySet {
  const result = compile([...readPolicyDir(dir), ...extra]);
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  return result.policySet;
}

/** A real agent process deciding with one policy set, and what it takes to end it. */
export interface AgentServing {
  agent: AgentProcess;
  plane: FakeControlPlane;
  signer: BundleSigner;
  /** Ends the agent and the fake control plane and removes their files. */
  stop(): Promise<void>;
}

/**
 * Starts the built agent holding `set` as revision 1: a fake control plane publishes it signed,
 * the agent trusts the signing keys from a file (no trust on first use), and this resolves once
 * the agent is ready with it. `env` adds agent settings (e.g. STEPGATE_TRUSTED_PROXIES).
 */
export async function agentServing(
  set: CompiledPolicySet,
  env: Record<string, string> = {},
): Promise<AgentServing> {
  await ensureAgentBuilt();
  const signer = await bundleSigner();
  const keys = tempDir('keys');
  const cacheDir = tempDir('cache');
  const keysFile = join(keys, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
  const plane = await FakeControlPlane.start(signer.jwks);
  plane.publish('active', 1, await signer.sign(set, 1));
  const agent = await startAgentProcess(
    {
      STEPGATE_URL: plane.url,
      STEPGATE_AGENT_TOKEN: plane.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      ...env,
    },
    cacheDir,
  );
  await waitFor('the policy set on the agent', async () => {
    const ready = await call(agent.url, 'GET', '/readyz');
    return ready.status === 200 && ready.body?.revision === 1;
  });
  return {
    agent,
    plane,
    signer,
    async stop() {
      await agent.kill();
      await plane.stop();
      cleanup(keys, cacheDir);
    },
  };
}

/** Compiles the example policy repository, plus or minus some files. */
export function examplePolicies(
  extra: Record<string, string> = {},
  settings?: string,
): CompiledPolicySet {
  const files = readPolicyDir(join(REPO_ROOT, 'policies')).filter((f) => !(f.path in extra));
  for (const [path, content] of Object.entries(extra)) files.push({ path, content });
  if (settings !== undefined) {
    const index = files.findIndex((f) => f.path === 'stepgate.yaml');
    files[index] = { path: 'stepgate.yaml', content: settings };
  }
  const result = compile(files);
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  return result.policySet;
}

export interface BundleSigner {
  kid: string;
  jwks: BundleJwks;
  /** The private key, for statements a control plane signs (shadow clears, revocations). */
  key: BundleSigningKey;
  /** Signs a bundle; `overrides.issuerKeys` ships token-issuer JWKS inside it, as the control plane does. */
  sign(
    set: CompiledPolicySet,
    revision: number,
    overrides?: Partial<BundlePayload>,
  ): Promise<string>;
  /** Signs a grant with the same key (grants are verified with the bundle-signing keys). */
  grant(claims: GrantClaims): Promise<string>;
}

/** Claims of an elevation grant for `subject`, issued now, valid for 10 minutes. */
export function grantClaims(subject: string, overrides: Partial<GrantClaims> = {}): GrantClaims {
  const now = Date.now();
  return {
    format: 'stepgate.grant/v1',
    id: crypto.randomUUID(),
    subject,
    kind: 'elevation',
    amr: ['otp'],
    authTime: new Date(now).toISOString(),
    approvals: [],
    actions: ['**'],
    resources: ['**'],
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 600_000).toISOString(),
    ...overrides,
  };
}

export async function bundleSigner(): Promise<BundleSigner> {
  const generated = await generateSigningKey();
  const key = await importSigningKey(generated.privateJwk);
  return {
    kid: key.kid,
    jwks: toJwks([generated.publicJwk]),
    key: { kid: key.kid, privateKey: key.privateKey },
    async sign(set, revision, overrides = {}) {
      return signBundle(
        {
          format: 'stepgate.bundle/v1',
          kind: 'active',
          revision,
          version: {
            id: `version-${revision}`,
            number: revision,
            sha: randomBytes(20).toString('hex'),
            branch: 'main',
            committedAt: new Date().toISOString(),
          },
          rollback: false,
          issuedAt: new Date().toISOString(),
          bundleHash: await bundleHashOf(set),
          policySet: set,
          ...overrides,
        },
        { kid: key.kid, privateKey: key.privateKey },
      );
    },
    grant: (claims) => signGrant(claims, { kid: key.kid, privateKey: key.privateKey }),
  };
}

/** Flips one character in the middle of the JWS payload. */
export function tamper(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const middle = Math.floor(payload.length / 2);
  const flipped = payload[middle] === 'A' ? 'B' : 'A';
  return `${header}.${payload.slice(0, middle)}${flipped}${payload.slice(middle + 1)}.${signature}`;
}

// ---------------------------------------------------------------------------------------------
// The fake control plane

type AgentNamespace = Namespace<AgentToServerEvents, ServerToAgentEvents>;

/**
 * Speaks the agent protocol like the real gateway: token check in the handshake, keys on
 * connect, then only the bundles the agent lacks; records acks, refusals and log batches.
 */
export class FakeControlPlane {
  readonly handshakes: AgentHandshake[] = [];
  readonly acks: BundleAck[] = [];
  readonly rejections: BundleRejected[] = [];
  readonly batches: LogBatch[] = [];
  readonly dataAcks: DataAck[] = [];
  readonly dataResyncs: DataResync[] = [];
  /** Live data sent on connect to an agent holding an older data revision (see publishData). */
  data: DataMessage | undefined;
  /** Batches that failed logBatchSchema (must stay empty). */
  readonly invalidBatches: unknown[] = [];
  readonly current: {
    active?: { revision: number; jws: string };
    shadow?: { revision: number; jws: string };
  } = {};
  shadowClearedAt: number | undefined;
  /** Sent (as `full: true`) to every agent on connect, like the real gateway. */
  grants: { grants: string[]; revoked: string[] } = { grants: [], revoked: [] };
  answerLogs: (batch: LogBatch) => LogBatchAck = () => ({ ok: true });
  private http: HttpServer | undefined;
  private io: SocketServer | undefined;
  /** Signs shadow clears and grant removals, as the real control plane does; unset: unsigned. */
  private signingKey: BundleSigningKey | undefined;
  /** Signed messages go out in the order they were asked for. */
  private sending: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly token: string,
    public jwks: BundleJwks,
  ) {}

  /** `signingKey`: the key whose public half is in `jwks` (see {@link signWith}). */
  static async start(
    jwks: BundleJwks,
    token = `agent_${randomBytes(8).toString('hex')}`,
    signingKey?: BundleSigningKey,
  ): Promise<FakeControlPlane> {
    const plane = new FakeControlPlane(await freePort(), token, jwks);
    plane.signingKey = signingKey;
    await plane.listen();
    return plane;
  }

  /** Signs shadow clears and grant removals from now on. */
  signWith(key: BundleSigningKey): void {
    this.signingKey = key;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Records received in acked batches, each batch counted once (resends deduplicated). */
  records(): DecisionRecord[] {
    const seen = new Set<string>();
    return this.batches.flatMap((batch) => {
      if (seen.has(batch.batchId)) return [];
      seen.add(batch.batchId);
      return batch.records;
    });
  }

  connectedAgents(): number {
    return this.namespace()?.sockets.size ?? 0;
  }

  async listen(): Promise<void> {
    const http = createHttpServer();
    const io = new SocketServer(http, { transports: ['websocket'] });
    const agents: AgentNamespace = io.of(AGENT_NAMESPACE);
    agents.use((socket, next) => {
      const parsed = agentHandshakeSchema.safeParse(socket.handshake.auth);
      if (!parsed.success || parsed.data.token !== this.token) {
        next(new Error('unauthorized'));
        return;
      }
      this.handshakes.push(parsed.data);
      socket.data = parsed.data;
      next();
    });
    agents.on('connection', (socket) => {
      const held = (socket.data as AgentHandshake).revisions;
      socket.emit('keys', { keys: this.jwks.keys as unknown as Record<string, unknown>[] });
      for (const kind of ['active', 'shadow'] as const) {
        const bundle = this.current[kind];
        if (bundle && (held[kind] ?? 0) < bundle.revision)
          socket.emit('bundle', { kind, revision: bundle.revision, jws: bundle.jws });
      }
      const clearedAt =
        !this.current.shadow && held.shadow !== undefined ? this.shadowClearedAt : undefined;
      const full = { full: true, ...this.grants };
      // Registered before any await, so no early ack or log batch is missed.
      socket.on('bundle:ack', (ack) => this.acks.push(ack));
      socket.on('bundle:rejected', (rejected) => this.rejections.push(rejected));
      socket.on('data:ack', (ack) => this.dataAcks.push(ack));
      socket.on('data:resync', (request) => this.dataResyncs.push(request));
      const data = this.data;
      socket.on('logs', (batch, ack) => {
        const parsed = logBatchSchema.safeParse(batch);
        if (!parsed.success) {
          this.invalidBatches.push(batch);
          ack({ ok: false, error: 'invalid batch' });
          return;
        }
        const answer = this.answerLogs(parsed.data);
        if (answer.ok) this.batches.push(parsed.data);
        ack(answer);
      });
      void this.inOrder(async () => {
        if (clearedAt !== undefined)
          socket.emit('shadow:cleared', await this.shadowCleared(clearedAt));
        socket.emit('grants', await this.grantsMessage(full));
        // Live data after the bundle, as the real gateway sends it.
        if (data && (socket.data as AgentHandshake).dataRevision < data.revision)
          socket.emit('data', data);
      });
    });
    await new Promise<void>((done) => http.listen(this.port, '127.0.0.1', done));
    this.http = http;
    this.io = io;
  }

  /** Makes `jws` the current bundle of its kind and pushes it to every agent. */
  publish(kind: 'active' | 'shadow', revision: number, jws: string): void {
    this.current[kind] = { revision, jws };
    this.namespace()?.emit('bundle', { kind, revision, jws });
  }

  /** Makes `message` the live data sent on connect and pushes it to every agent. */
  publishData(message: DataMessage): void {
    this.data = message;
    this.namespace()?.emit('data', message);
  }

  /** Sends any event to every agent exactly as given (forgeries, messages of older versions). */
  send(event: string, payload: unknown): void {
    (this.namespace() as unknown as Namespace | undefined)?.emit(event, payload);
  }

  /** Pushes a bundle message without making it current (replays, forgeries). */
  push(kind: 'active' | 'shadow', revision: number, jws: string): void {
    this.namespace()?.emit('bundle', { kind, revision, jws });
  }

  /**
   * Pushes a grants message to every agent (and keeps the result for agents connecting later);
   * its removals signed when the plane has a signing key.
   */
  pushGrants(message: Omit<GrantsMessage, 'revocation'>): Promise<void> {
    const revoked = new Set(message.revoked);
    const kept = message.full ? [] : this.grants.grants;
    this.grants = {
      grants: [...kept, ...message.grants],
      revoked: [...new Set([...this.grants.revoked, ...message.revoked])],
    };
    // Revoked grants leave the set sent on connect (ids are read from the signed payload).
    this.grants.grants = this.grants.grants.filter((jws) => !revoked.has(grantId(jws)));
    return this.inOrder(async () => {
      this.namespace()?.emit('grants', await this.grantsMessage(message));
    });
  }

  /** Clears the shadow (signed when the plane has a signing key) on every agent. */
  clearShadow(revision: number): Promise<void> {
    delete this.current.shadow;
    this.shadowClearedAt = revision;
    return this.inOrder(async () => {
      this.namespace()?.emit('shadow:cleared', await this.shadowCleared(revision));
    });
  }

  private async grantsMessage(message: Omit<GrantsMessage, 'revocation'>): Promise<GrantsMessage> {
    return this.signingKey ? signGrantsMessage(message, this.signingKey) : message;
  }

  /** Unsigned without a key: what an older control plane, or a forger, sends. */
  private async shadowCleared(revision: number): Promise<ShadowClearedMessage> {
    return this.signingKey
      ? signShadowCleared(revision, this.signingKey)
      : ({ revision } as ShadowClearedMessage);
  }

  private inOrder(task: () => Promise<void>): Promise<void> {
    const run = this.sending.then(task);
    this.sending = run.catch(() => undefined);
    return run;
  }

  /** Stops accepting and drops every connection (the control plane is gone). */
  async stop(): Promise<void> {
    const io = this.io;
    this.io = undefined;
    this.http = undefined;
    if (io) await new Promise<void>((done) => io.close(() => done()));
  }

  private namespace(): AgentNamespace | undefined {
    return this.io?.of(AGENT_NAMESPACE) as AgentNamespace | undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The agent process

export interface AgentProcess {
  url: string;
  port: number;
  cacheDir: string;
  child: ChildProcess;
  /** Milliseconds from spawn to the first answered request. */
  readyInMs: number;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  alive(): boolean;
}

/**
 * Starts the built agent with `env` (STEPGATE_* only; the parent environment is not passed
 * through, so a developer's settings never leak in) and command-line `args`, and waits until it
 * answers /healthz (over HTTPS with `https`, the client trusting the agent's certificate).
 */
export async function startAgentProcess(
  env: Record<string, string>,
  cacheDir = tempDir('cache'),
  args: readonly string[] = [],
  https?: TlsClient,
): Promise<AgentProcess> {
  const port = await freePort();
  let log = '';
  const { child, url, readyInMs, exited } = await spawnAgent({
    port,
    cacheDir,
    env,
    args,
    logLevel: 'debug',
    onOutput: (text) => (log += text),
    output: () => log,
    ...(https !== undefined ? { https } : {}),
  });
  return {
    url,
    port,
    cacheDir,
    child,
    readyInMs,
    output: () => log,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** JSON request to the agent. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function grantId(jws: string): string {
  const payload = jws.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { id: string }).id;
}

export function cleanup(...dirs: string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
