/**
 * The agents' socket.io namespace under malformed input: handshakes the gateway must refuse
 * (never accept, never leave hanging), junk events from an authenticated socket (acks, bundle
 * reports, log batches of every wrong shape, unknown events, binary), and engine.io packets no
 * client library would send. Meanwhile a well-behaved fake agent ships valid decision-log
 * batches, every one of which must be acknowledged and stored.
 */
import { randomUUID } from 'node:crypto';
import { AGENT_NAMESPACE, type LogBatchAck } from '@stepgate/protocol';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { ControlPlaneProcess } from '../../support/control-plane-process.js';
import { connectAgent, record, type FakeAgent } from '../../integration/agents/support.js';
import type { Prng } from './prng.js';

export interface SocketDrillResult {
  handshakes: number;
  events: number;
  rawPackets: number;
  /** What went wrong (an accepted bad handshake, an unanswered log batch...). */
  problems: string[];
  /** How the refused handshakes were answered: code -> count. */
  refusals: Record<string, number>;
}

/** `handshake.auth` values the gateway must refuse. */
function badHandshakes(agentToken: string, viewerToken: string, rng: Prng): unknown[] {
  const id = () => `drill-hs-${rng.int(1, 1e9)}`;
  const proto = JSON.parse(`{"token":"${agentToken}","agentId":"${id()}","__proto__":{"x":1}}`);
  return [
    {},
    { token: 123, agentId: id() },
    { token: '', agentId: id() },
    { token: 'x'.repeat(600), agentId: id() },
    { token: null, agentId: id() },
    { token: ['a'], agentId: id() },
    { token: `sg_${rng.ascii(20)}`, agentId: id() },
    { token: agentToken, agentId: '../../etc/passwd' },
    { token: agentToken, agentId: 'a'.repeat(200) },
    { token: agentToken, agentId: '' },
    { token: agentToken, agentId: 42 },
    { token: agentToken, agentId: 'bad id with spaces' },
    { token: agentToken, agentId: id(), labels: 'env=prod' },
    { token: agentToken, agentId: id(), labels: { 'bad key!': 'v' } },
    { token: agentToken, agentId: id(), labels: { k: 'v'.repeat(100) } },
    { token: agentToken, agentId: id(), labels: { k: 1 } },
    { token: agentToken, agentId: id(), revisions: { active: -1 } },
    { token: agentToken, agentId: id(), revisions: { active: 'latest' } },
    { token: agentToken, agentId: id(), revisions: { active: 1.5 } },
    { token: agentToken, agentId: id(), revisions: { active: 1, other: 2 } },
    { token: agentToken, agentId: id(), revisions: [] },
    { token: agentToken, agentId: id(), agentVersion: 'v'.repeat(100) },
    { token: agentToken, agentId: id(), unknown: true },
    proto,
    JSON.parse(`{"token":"${agentToken}","agentId":"${id()}","constructor":{"prototype":{"x":1}}}`),
    // Authenticated, but without the agent scope.
    { token: viewerToken, agentId: id() },
    { token: `${agentToken}x`, agentId: id() },
  ];
}

function attempt(cp: ControlPlaneProcess, auth: unknown): Promise<string> {
  const socket = io(`${cp.url}${AGENT_NAMESPACE}`, {
    auth: auth as Record<string, unknown>,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('timeout'), 8000);
    const finish = (outcome: string) => {
      clearTimeout(timer);
      socket.disconnect();
      resolve(outcome);
    };
    socket.once('connect', () => finish('accepted'));
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) =>
      finish(error.data?.code ? `refused:${error.data.code}` : `error:${error.message}`),
    );
  });
}

/** Payloads of every wrong shape for an event. */
function junkPayload(rng: Prng): unknown {
  const record = {
    decisionId: randomUUID(),
    at: new Date().toISOString(),
    revision: 1,
    effect: 'allow',
    reasons: [],
    principal: 'drill-junk',
    action: 'x',
    resource: { kind: 'k', id: 'i' },
    durationNs: 1,
  };
  return rng.pick<unknown>([
    null,
    undefined,
    0,
    -1,
    'string',
    '',
    true,
    [],
    [1, 2, 3],
    {},
    { kind: 'active' },
    { kind: 'active', revision: -1, appliedAt: 'now' },
    { kind: 'bogus', revision: 1, appliedAt: new Date().toISOString() },
    { kind: 'active', revision: '1', appliedAt: new Date().toISOString(), extra: 1 },
    { kind: 'shadow', revision: 0, reason: 'r'.repeat(1000) },
    { batchId: '', records: [], dropped: 0 },
    { batchId: 'b', records: 'not a list', dropped: 0 },
    { batchId: 'b', records: [], dropped: -1 },
    { batchId: 'b'.repeat(100), records: [], dropped: 0 },
    { batchId: 'b', records: [null, 1, 'x', {}], dropped: 0 },
    { batchId: 'b', records: Array.from({ length: 1001 }, () => record), dropped: 0 },
    { batchId: 'b', records: [{ ...record, revision: 'x' }], dropped: 0 },
    { batchId: 'b', records: [{ ...record, principal: 'p'.repeat(1000) }], dropped: 0 },
    { batchId: 'b', records: [{ ...record, at: 'yesterday' }], dropped: 0 },
    { batchId: 'b', records: [{ ...record, extra: true }], dropped: 0 },
    { batchId: 'b', records: [{ ...record, principal: 'nul\u0000byte' }], dropped: 0 },
    JSON.parse('{"batchId":"b","records":[],"dropped":0,"__proto__":{"polluted":1}}'),
    JSON.parse('{"constructor":{"prototype":{"polluted":1}}}'),
    Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    { nested: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) },
  ]);
}

/**
 * Runs the socket part of the drill; `steady` is the well-behaved agent that keeps shipping
 * valid batches while this runs (see `shipSteadily`).
 */
export async function socketDrill(
  cp: ControlPlaneProcess,
  tokens: { agent: string; viewer: string },
  rng: Prng,
  junkEvents = 300,
): Promise<SocketDrillResult> {
  const problems: string[] = [];
  const refusals: Record<string, number> = {};
  const handshakes = badHandshakes(tokens.agent, tokens.viewer, rng);
  const outcomes = await Promise.all(handshakes.map((auth) => attempt(cp, auth)));
  outcomes.forEach((outcome, i) => {
    refusals[outcome] = (refusals[outcome] ?? 0) + 1;
    if (!outcome.startsWith('refused:'))
      problems.push(`handshake ${JSON.stringify(handshakes[i]).slice(0, 120)}: ${outcome}`);
  });

  // Junk events from an authenticated socket (the gateway ignores or refuses each one).
  const junk = await connectAgent(cp, { token: tokens.agent, agentId: `drill-junk-${rng.seed}` });
  let events = 0;
  for (let i = 0; i < junkEvents; i++) {
    const event = rng.pick(['bundle:ack', 'bundle:rejected', 'logs', 'logs', 'no-such-event']);
    const payload = junkPayload(rng);
    const socket = junk.socket as unknown as {
      emit: (event: string, ...args: unknown[]) => void;
      timeout: (ms: number) => {
        emitWithAck: (event: string, ...args: unknown[]) => Promise<unknown>;
      };
      connected: boolean;
    };
    if (!socket.connected) break;
    events += 1;
    if (event === 'logs' && rng.chance(0.7)) {
      try {
        const ack = (await socket.timeout(10_000).emitWithAck('logs', payload)) as LogBatchAck;
        if (typeof ack?.ok !== 'boolean')
          problems.push(
            `logs ${JSON.stringify(payload)?.slice(0, 80)}: ack ${JSON.stringify(ack)}`,
          );
      } catch (error) {
        problems.push(`logs ${JSON.stringify(payload)?.slice(0, 80)}: ${(error as Error).message}`);
      }
    } else if (rng.chance(0.2)) socket.emit(event, payload, 'extra', { args: [1, 2] });
    else socket.emit(event, payload);
  }
  junk.close();

  const rawPackets = await rawEngineIo(cp, tokens.agent, rng);
  return { handshakes: handshakes.length, events, rawPackets, problems, refusals };
}

/**
 * engine.io/socket.io packets no client library would send, straight over a WebSocket: the
 * server may close that connection, nothing more. Resolves with the number of packets sent.
 */
async function rawEngineIo(
  cp: ControlPlaneProcess,
  agentToken: string,
  rng: Prng,
): Promise<number> {
  const url = `${cp.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const packets = [
    '42/agents,[',
    '42/agents,{"not":"an array"}',
    '42/agents,["logs",' + '['.repeat(5000) + ']'.repeat(5000) + ']',
    '43/agents,1[]',
    '9',
    '4',
    '40/agents,not json',
    '41/nowhere,',
    '451-/agents,["logs",{"_placeholder":true,"num":99}]',
    'x'.repeat(10_000),
    '\u0000\u0001',
  ];
  let sent = 0;
  for (const packet of packets) {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 3000);
      ws.on('error', () => undefined);
      ws.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('0')) {
          // Open: join the namespace with a valid handshake, then the junk packet.
          ws.send(
            // The junk agent's id: its token is bound to it, so the join is accepted.
            `40${AGENT_NAMESPACE},${JSON.stringify({ token: agentToken, agentId: `drill-junk-${rng.seed}` })}`,
          );
        } else if (text.startsWith(`40${AGENT_NAMESPACE}`) || text.startsWith('44')) {
          ws.send(packet);
          sent += 1;
          setTimeout(() => ws.close(), 100);
        }
      });
    });
  }
  return sent;
}

/**
 * A well-behaved fake agent shipping valid batches every `intervalMs` until `stop()`: each
 * batch must be acknowledged `ok` without an error.
 */
export async function shipSteadily(
  cp: ControlPlaneProcess,
  agentToken: string,
  principal: string,
  intervalMs = 200,
  recordsPerBatch = 25,
) {
  const agent: FakeAgent = await connectAgent(cp, {
    token: agentToken,
    agentId: `drill-steady-${randomUUID().slice(0, 8)}`,
  });
  let sent = 0;
  const problems: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = {
        batchId: randomUUID(),
        records: Array.from({ length: recordsPerBatch }, () =>
          record({ principal, action: 'drill:steady', resource: { kind: 'drill', id: 'steady' } }),
        ),
        dropped: 0,
      };
      try {
        const ack = await agent.sendLogs(batch, 15_000);
        if (ack.ok && ack.error === undefined) sent += batch.records.length;
        else problems.push(`steady batch refused: ${JSON.stringify(ack)}`);
      } catch (error) {
        problems.push(`steady batch unanswered: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop(): Promise<{ sent: number; problems: string[]; agentId: string }> {
      running = false;
      await loop;
      agent.close();
      return { sent, problems, agentId: agent.id };
    },
  };
}
