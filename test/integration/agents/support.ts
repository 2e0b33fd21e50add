/**
 * A fake agent for the gateway suites: a real socket.io-client connection to `/agents` that
 * records every event the control plane sends, plus decision-record builders.
 */
import { randomUUID } from 'node:crypto';
import {
  AGENT_NAMESPACE,
  type AgentToServerEvents,
  type BundleMessage,
  type DecisionRecord,
  type LogBatch,
  type LogBatchAck,
  type ServerToAgentEvents,
} from '@stepgate/protocol';
import { io, type Socket } from 'socket.io-client';
import { api, waitFor, type ControlPlaneProcess } from '../../support/control-plane-process.js';

export type AgentEvent =
  | { name: 'bundle'; payload: BundleMessage }
  | { name: 'shadow:cleared'; payload: { revision: number } }
  | { name: 'keys'; payload: { keys: Record<string, unknown>[] } };

type Payload<E extends AgentEvent['name']> = Extract<AgentEvent, { name: E }>['payload'];

export interface ConnectOptions {
  token: string;
  agentId?: string;
  labels?: Record<string, string>;
  revisions?: { active?: number; shadow?: number };
  /** Sent as `handshake.auth` as is (for malformed handshakes). */
  rawAuth?: Record<string, unknown>;
}

/** A connected fake agent; `events` holds everything received, oldest first. */
export class FakeAgent {
  readonly events: AgentEvent[] = [];
  private cursor = 0;

  constructor(
    readonly id: string,
    readonly socket: Socket<ServerToAgentEvents, AgentToServerEvents>,
  ) {
    socket.on('bundle', (payload) => this.events.push({ name: 'bundle', payload }));
    socket.on('shadow:cleared', (payload) => this.events.push({ name: 'shadow:cleared', payload }));
    socket.on('keys', (payload) => this.events.push({ name: 'keys', payload }));
  }

  /** The next event (after the ones already taken) matching `match`, waiting up to `timeoutMs`. */
  async next<E extends AgentEvent['name']>(
    name: E,
    match: (payload: Payload<E>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<Payload<E>> {
    let found: AgentEvent | undefined;
    await waitFor(
      `agent ${this.id} to receive "${name}"`,
      async () => {
        for (let i = this.cursor; i < this.events.length; i++) {
          const event = this.events[i]!;
          if (event.name === name && match(event.payload as Payload<E>)) {
            found = event;
            this.cursor = i + 1;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
      20,
    );
    return found!.payload as Payload<E>;
  }

  /** Events received from now on only. */
  skipAll(): void {
    this.cursor = this.events.length;
  }

  eventsSince(index: number): AgentEvent[] {
    return this.events.slice(index);
  }

  ack(kind: 'active' | 'shadow', revision: number): void {
    this.socket.emit('bundle:ack', { kind, revision, appliedAt: new Date().toISOString() });
  }

  async sendLogs(batch: LogBatch, timeoutMs = 10_000): Promise<LogBatchAck> {
    return this.socket.timeout(timeoutMs).emitWithAck('logs', batch);
  }

  close(): void {
    this.socket.disconnect();
  }
}

function socketFor(cp: ControlPlaneProcess, auth: Record<string, unknown>) {
  return io(`${cp.url}${AGENT_NAMESPACE}`, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  }) as Socket<ServerToAgentEvents, AgentToServerEvents>;
}

function authOf(options: ConnectOptions, agentId: string): Record<string, unknown> {
  return (
    options.rawAuth ?? {
      token: options.token,
      agentId,
      labels: options.labels ?? {},
      revisions: options.revisions ?? {},
    }
  );
}

/** Connects and resolves once the handshake was accepted. */
export async function connectAgent(
  cp: ControlPlaneProcess,
  options: ConnectOptions,
): Promise<FakeAgent> {
  const agentId = options.agentId ?? `agent-${randomUUID().slice(0, 8)}`;
  const socket = socketFor(cp, authOf(options, agentId));
  // Listeners go on before the connection completes, so no early event is missed.
  const agent = new FakeAgent(agentId, socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => {
      socket.disconnect();
      reject(error);
    });
  });
  return agent;
}

/**
 * Connects and reports what happened either way: the connected agent, or the refusal. For
 * attack tests, which act (ack, ship logs) when a connection they should not get is accepted.
 */
export async function attemptConnection(
  cp: ControlPlaneProcess,
  options: ConnectOptions,
): Promise<{ agent: FakeAgent; refusal?: undefined } | { agent?: undefined; refusal: Refusal }> {
  const agentId = options.agentId ?? `agent-${randomUUID().slice(0, 8)}`;
  const socket = socketFor(cp, authOf(options, agentId));
  const agent = new FakeAgent(agentId, socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ agent }));
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
      socket.disconnect();
      resolve({ refusal: { message: error.message, code: error.data?.code, received: [] } });
    });
  });
}

export interface Refusal {
  message: string;
  code: string | undefined;
  received: string[];
  /** Why an identity was refused (`token_bound`, `id_bound`, `outside_prefix`), when it was. */
  reason?: string;
}

/**
 * An agent-scoped token (one per agent: a token is bound to the agent id it first connects
 * as). With `agentId`, the token is created already bound to it.
 */
export async function agentToken(
  cp: ControlPlaneProcess,
  agentId?: string,
  name = `agent-${agentId ?? randomUUID().slice(0, 8)}`,
): Promise<{ id: string; token: string }> {
  const response = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
    name,
    scopes: ['agent'],
    ...(agentId ? { agentId } : {}),
  });
  if (response.status !== 201)
    throw new Error(`POST /v1/tokens: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { id: string; token: string };
}

const perAgent = new WeakMap<ControlPlaneProcess, Map<string, Promise<string>>>();

/**
 * The token of agent `agentId` on `cp`: created bound to it on first use, the same one after
 * (suites running many agents; a token is one agent's identity).
 */
export function agentTokenFor(cp: ControlPlaneProcess, agentId: string): Promise<string> {
  let tokens = perAgent.get(cp);
  if (!tokens) perAgent.set(cp, (tokens = new Map()));
  let token = tokens.get(agentId);
  if (!token) {
    token = agentToken(cp, agentId, `agent-${agentId}`).then((created) => created.token);
    tokens.set(agentId, token);
  }
  return token;
}

/** Connects expecting a refusal; resolves with the `connect_error` (message and data.code). */
export async function refusedConnection(
  cp: ControlPlaneProcess,
  options: ConnectOptions,
): Promise<Refusal> {
  const socket = socketFor(cp, authOf(options, options.agentId ?? 'refused-agent'));
  const received: string[] = [];
  socket.onAny((event: string) => received.push(event));
  try {
    return await new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('the connection was accepted')));
      socket.once('connect_error', (error: Error & { data?: { code?: string; reason?: string } }) =>
        resolve({
          message: error.message,
          code: error.data?.code,
          received,
          ...(error.data?.reason ? { reason: error.data.reason } : {}),
        }),
      );
    });
  } finally {
    socket.disconnect();
  }
}

/** GET with a token; fails the test on a non-200. */
export async function getOk(cp: ControlPlaneProcess, token: string, path: string): Promise<any> {
  const response = await api(cp.url, token, 'GET', path);
  if (response.status !== 200)
    throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function agentRow(
  cp: ControlPlaneProcess,
  token: string,
  id: string,
): Promise<any | undefined> {
  const body = await getOk(cp, token, '/v1/agents');
  return (body.agents as any[]).find((agent) => agent.id === id);
}

/** Polls GET /v1/agents until the agent's row matches. */
export async function waitForAgent(
  cp: ControlPlaneProcess,
  token: string,
  id: string,
  match: (row: any) => boolean,
  timeoutMs = 10_000,
): Promise<any> {
  let row: any;
  try {
    await waitFor(
      `agent ${id} to match in GET /v1/agents`,
      async () => {
        row = await agentRow(cp, token, id);
        return row !== undefined && match(row);
      },
      timeoutMs,
      50,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last row: ${JSON.stringify(row)}`);
  }
  return row;
}

/** Nothing but what `allow` says arrives for `ms` (a bounded negative check). */
export async function receivesNothing(
  agent: FakeAgent,
  ms: number,
  allow: (event: AgentEvent) => boolean = () => false,
): Promise<AgentEvent[]> {
  const start = agent.events.length;
  await new Promise((r) => setTimeout(r, ms));
  return agent.eventsSince(start).filter((event) => !allow(event));
}

type Effect = DecisionRecord['effect'];

/** A decision record; `overrides` replace fields. */
export function record(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    decisionId: randomUUID(),
    at: new Date().toISOString(),
    revision: 1,
    effect: 'allow',
    reasons: [],
    principal: 'alice',
    action: 'deploy',
    resource: { kind: 'environment', id: 'prod/billing' },
    durationNs: 1200,
    ...overrides,
  };
}

export function reason(policy: string, rule: string, effect: Effect) {
  return { policy, rule, effect };
}
