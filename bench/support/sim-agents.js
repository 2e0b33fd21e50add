// A child process holding many simulated agents: real socket.io-client connections to the
// control plane's /agents namespace (WebSocket transport only) that verify nothing and ack every
// bundle and live-data message they receive at once, and keep the risk-signal values pushed to
// them (decoded, not verified). Each announces the active and data revisions it holds in its
// handshake, as the real agent does, so a reconnecting one is only sent what it lacks. Driven by
// its parent over the IPC channel:
//   parent -> {cmd: 'connect', url, tokens, idPrefix, count, concurrency}
//                                           tokens[i]: the token of agent `${idPrefix}-${i}`
//                                           (one per agent: a token is bound to one agent id)
//          -> {cmd: 'drop'}                 close every connection at once (transport closed)
//          -> {cmd: 'reconnect', minDelayMs, maxDelayMs}
//                                           each socket reconnects after a random delay in the
//                                           window (the agent's first retry), retrying refused
//                                           or failed attempts with the agent's backoff
//          -> {cmd: 'logs', ...}             ship decision-log batches at a target rate
//          -> {cmd: 'signals-expect', expected: [subject, name, value][]}
//                                           report once every socket here holds these values
//          -> {cmd: 'stats'} | {cmd: 'close'}
//   child  -> {type: 'connected', connected, failed, errors, ms}
//          -> {type: 'complete', revision, kind, times}  every socket here acked `revision`
//          -> {type: 'data-complete', revision, times}   every socket here acked live data
//                                                        `revision` (received and acked at once)
//          -> {type: 'signals-expecting'}, then {type: 'signals-complete', times}
//                                           every socket here holds the expected signal values
//          -> {type: 'disconnect', agentId, reason}        (a socket was lost unexpectedly)
//          -> {type: 'dropped', ms, sockets}
//          -> {type: 'reconnected', times, attempts, errors}  every socket here is back
//          -> {type: 'logs-done', ...} | {type: 'stats', ...} | {type: 'closed'}
// Times are epoch milliseconds from performance.timeOrigin + performance.now(), comparable with
// the parent's clock on the same machine.
import { AGENT_NAMESPACE, decisionRecordSchema, MAX_LOG_BATCH } from '@stepgate/protocol';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io } from 'socket.io-client';

const now = () => performance.timeOrigin + performance.now();
const send = (message) => process.send?.(message);

/** @type {import('socket.io-client').Socket[]} */
const sockets = [];
/** The active revision each socket holds (acked), announced when it reconnects. */
const held = [];
/** revision -> {kind, times: number[], seen: Set<number>} */
const revisions = new Map();
/** The live-data revision each socket acked, announced when it reconnects. */
const heldData = [];
/** data revision -> {times: number[], seen: Set<number>} */
const dataRevisions = new Map();
/** Per socket: `${subject}\0${name}` -> {value, seq}, the signal values it holds. */
const signalValues = [];
/** What the parent waits for: key -> value, and per socket how many keys hold it. */
let signalExpect = { values: new Map(), reached: [], times: [], done: 0, sent: true };
const signalCounts = { messages: 0, values: 0 };
let closing = false;
/** Set between 'drop' and the end of 'reconnect': disconnects then are ours, not losses. */
let dropping = false;
let disconnects = 0;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function onBundle(index, message) {
  const t = now();
  const socket = sockets[index];
  socket.emit('bundle:ack', {
    kind: message.kind,
    revision: message.revision,
    appliedAt: new Date().toISOString(),
  });
  if (message.kind === 'active') held[index] = Math.max(held[index] ?? 0, message.revision);
  let entry = revisions.get(message.revision);
  if (!entry) {
    entry = { kind: message.kind, times: [], seen: new Set() };
    revisions.set(message.revision, entry);
  }
  if (entry.seen.has(index)) return; // a catch-up and a broadcast of the same revision
  entry.seen.add(index);
  entry.times.push(t);
  if (entry.times.length === sockets.length)
    send({ type: 'complete', revision: message.revision, kind: entry.kind, times: entry.times });
}

/** Live data: acked at once (the real agent acks once it has persisted the message). */
function onData(index, message) {
  const t = now();
  const revision = message?.revision;
  if (!Number.isInteger(revision)) return;
  sockets[index].emit('data:ack', { revision });
  heldData[index] = Math.max(heldData[index] ?? 0, revision);
  let entry = dataRevisions.get(revision);
  if (!entry) {
    entry = { times: [], seen: new Set() };
    dataRevisions.set(revision, entry);
  }
  if (entry.seen.has(index)) return;
  entry.seen.add(index);
  entry.times.push(t);
  if (entry.times.length === sockets.length)
    send({ type: 'data-complete', revision, times: entry.times });
}

const signalKey = (subject, name) => `${subject}\0${name}`;

/** Whether socket `index` now holds every expected value; reports when all sockets do. */
function checkSignalsDone(index, t) {
  const expect = signalExpect;
  if (expect.sent || expect.times[index] !== undefined) return;
  if (expect.reached[index] < expect.values.size) return;
  expect.times[index] = t;
  if (++expect.done === sockets.length) {
    expect.sent = true;
    send({ type: 'signals-complete', times: expect.times });
  }
}

/**
 * A broadcast reaches every socket here with the same JWS: it is decoded once per process (50
 * agents in one process would otherwise spend 50 decodes of what 50 machines decode once each).
 */
let lastSignals = { jws: '', payload: undefined };
function decodeSignals(jws) {
  if (typeof jws !== 'string') return undefined;
  if (jws === lastSignals.jws) return lastSignals.payload;
  let payload;
  try {
    payload = JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString());
  } catch {
    return undefined;
  }
  lastSignals = { jws, payload };
  return payload;
}

/**
 * Risk signals: the payload is read without verifying the signature (the real agent verifies
 * it); per (subject, name) the value with the highest seq is kept, as the agent does.
 */
function onSignals(index, message) {
  const t = now();
  const payload = decodeSignals(message?.jws);
  if (payload === undefined) return;
  signalCounts.messages++;
  const held = (signalValues[index] ??= new Map());
  const expect = signalExpect;
  for (const update of payload.values ?? []) {
    signalCounts.values++;
    const key = signalKey(update.subject, update.name);
    const before = held.get(key);
    if (before && before.seq >= update.seq) continue;
    held.set(key, { value: update.value, seq: update.seq });
    if (!expect.values.has(key)) continue;
    const wanted = expect.values.get(key);
    const was = before !== undefined && before.value === wanted;
    const is = update.value === wanted;
    if (was !== is) expect.reached[index] += is ? 1 : -1;
  }
  checkSignalsDone(index, t);
}

/** From now on, reports (once) when every socket here holds `expected`. */
function expectSignals({ expected }) {
  const values = new Map(
    expected.map(([subject, name, value]) => [signalKey(subject, name), value]),
  );
  signalExpect = { values, reached: [], times: new Array(sockets.length), done: 0, sent: false };
  sockets.forEach((_, index) => {
    const held = signalValues[index];
    let reached = 0;
    if (held) for (const [key, value] of values) if (held.get(key)?.value === value) reached++;
    signalExpect.reached[index] = reached;
  });
  send({ type: 'signals-expecting' });
  const t = now();
  sockets.forEach((_, index) => checkSignalsDone(index, t));
}

function connectOne(url, token, agentId, index) {
  return new Promise((resolve) => {
    const socket = io(`${url}${AGENT_NAMESPACE}`, {
      // A function, so a reconnect announces what the socket holds by then.
      auth: (callback) =>
        callback({
          token,
          agentId,
          labels: { bench: 'sim' },
          revisions: held[index] ? { active: held[index] } : {},
          dataRevision: heldData[index] ?? 0,
        }),
      transports: ['websocket'],
      // Reconnects are driven by hand ('reconnect'), so the delays are known and measured.
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    sockets[index] = socket;
    socket.on('bundle', (message) => onBundle(index, message));
    socket.on('data', (message) => onData(index, message));
    socket.on('signals', (message) => onSignals(index, message));
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', (error) => resolve(error.message));
    socket.on('disconnect', (reason) => {
      if (closing || dropping) return;
      disconnects++;
      send({ type: 'disconnect', agentId, reason });
    });
  });
}

async function connectAll({ url, tokens, idPrefix, count, concurrency }) {
  const started = now();
  const errors = new Map();
  let next = 0;
  let failed = 0;
  let retried = 0;
  sockets.length = count;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      let error = await connectOne(url, tokens[index], `${idPrefix}-${index}`, index);
      // A real agent retries a failed connect (backoff): so do these, twice, before giving up.
      for (let attempt = 1; error !== undefined && attempt <= 2; attempt++) {
        retried++;
        sockets[index].removeAllListeners();
        sockets[index].disconnect();
        await new Promise((r) => setTimeout(r, 1000 * attempt));
        error = await connectOne(url, tokens[index], `${idPrefix}-${index}`, index);
      }
      if (error !== undefined) {
        failed++;
        errors.set(error, (errors.get(error) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  send({
    type: 'connected',
    connected: sockets.filter((s) => s.connected).length,
    failed,
    retried,
    errors: Object.fromEntries(errors),
    ms: now() - started,
  });
}

// ---------------------------------------------------------------------------------------------
// Reconnect storm

/** Closes every connection's transport at once, as a network drop would. */
function dropAll() {
  const started = now();
  dropping = true;
  for (const socket of sockets) socket.io.engine?.close();
  send({
    type: 'dropped',
    ms: now() - started,
    sockets: sockets.length,
    stillConnected: sockets.filter((s) => s.connected).length,
  });
}

/**
 * Every socket reconnects after a uniform random delay in [minDelayMs, maxDelayMs] (socket.io's
 * first retry with the agent's settings: 1 s ± 50 %); a refused or failed attempt is retried
 * after twice the previous delay, jittered the same way, up to 30 s (the agent's backoff).
 */
function reconnectAll({ minDelayMs, maxDelayMs }) {
  const started = now();
  const times = new Array(sockets.length);
  const errors = new Map();
  let attempts = 0;
  let back = 0;
  const attempt = (index, delay) => {
    setTimeout(() => {
      attempts++;
      sockets[index].connect();
    }, delay);
  };
  sockets.forEach((socket, index) => {
    let delay = minDelayMs + Math.random() * (maxDelayMs - minDelayMs);
    const onConnect = () => {
      socket.off('connect_error', onError);
      times[index] = now();
      if (++back === sockets.length) {
        dropping = false;
        send({
          type: 'reconnected',
          startedAt: started,
          times,
          attempts,
          errors: Object.fromEntries(errors),
        });
      }
    };
    const onError = (error) => {
      errors.set(error.message, (errors.get(error.message) ?? 0) + 1);
      delay = Math.min(30_000, delay * 2) * (0.5 + Math.random());
      attempt(index, delay);
    };
    socket.once('connect', onConnect);
    socket.on('connect_error', onError);
    attempt(index, delay);
  });
}

// ---------------------------------------------------------------------------------------------
// Decision-log shipping

const EFFECTS = ['allow', 'allow', 'allow', 'deny', 'step_up'];
const ACTIONS = ['k8s:get', 'k8s:exec', 'deploy:production', 'db:query', 'http:GET'];

/** One decision record as the agent logs it (checked once against decisionRecordSchema). */
function makeRecord(prefix, seq, revision) {
  const effect = EFFECTS[seq % EFFECTS.length];
  const action = ACTIONS[seq % ACTIONS.length];
  return {
    decisionId: `${prefix}-${seq}`,
    at: new Date().toISOString(),
    revision,
    effect,
    ...(effect === 'step_up' ? { require: { level: 'mfa', maxAge: 900 } } : {}),
    reasons: [{ policy: 'production-access', rule: `rule-${seq % 7}`, effect }],
    principal: `user-${seq % 500}@example.com`,
    action,
    resource: { kind: 'namespace', id: `payments-${seq % 50}` },
    input: {
      principal: { id: `user-${seq % 500}@example.com`, roles: ['engineer'] },
      context: { ip: '10.0.0.1', mfa: seq % 3 === 0 },
    },
    durationNs: 20_000 + (seq % 50_000),
  };
}

/**
 * Each of the first `agents` sockets here accrues records at `ratePerAgent` records/s and ships
 * them every `intervalMs` (the agent's shipping timer), one batch in flight at a time, at most
 * MAX_LOG_BATCH records per batch; a batch not acked `ok` (or not answered in 10 s) is re-sent
 * as is, as the agent does. Records accrued while a batch is in flight wait for the next.
 */
async function shipLogs({ agents, ratePerAgent, intervalMs, durationMs, revision, drainMs }) {
  const used = sockets.slice(0, agents);
  const start = now();
  const stopAt = start + durationMs;
  const latencies = [];
  const result = {
    type: 'logs-done',
    agents: used.length,
    records: 0,
    acked: 0,
    batches: 0,
    ackedBatches: 0,
    notOk: 0,
    timeouts: 0,
    resent: 0,
    errors: {},
    unacked: 0,
  };
  const sample = makeRecord('sample', 0, revision);
  const checked = decisionRecordSchema.safeParse(sample);
  if (!checked.success)
    throw new Error(`simulated records no longer match decisionRecordSchema: ${checked.error}`);
  const states = used.map((socket, i) => ({
    socket,
    prefix: `${socket.id ?? 'x'}-${i}-${randomBytes(3).toString('hex')}`,
    made: 0,
    // Staggered, so the agents do not ship in lock-step.
    nextShip: start + (i / used.length) * intervalMs,
    inFlight: undefined,
  }));
  const error = (text) => (result.errors[text] = (result.errors[text] ?? 0) + 1);
  const shipOne = (state, batch) => {
    state.inFlight = batch;
    result.batches++;
    const sent = now();
    state.socket.timeout(10_000).emit('logs', batch, (err, ack) => {
      if (err) {
        result.timeouts++;
        error(err.message);
      } else if (!ack?.ok) {
        result.notOk++;
        error(ack?.error ?? 'malformed ack');
      } else {
        latencies.push(now() - sent);
        result.acked += batch.records.length;
        result.ackedBatches++;
        state.inFlight = undefined;
        return;
      }
      // Kept and re-sent on the next tick, as the agent does with an unacked batch.
      state.retry = true;
    });
  };
  const tick = () => {
    const t = now();
    const accrueUntil = Math.min(t, stopAt);
    for (const state of states) {
      if (state.inFlight) {
        if (state.retry && state.socket.connected) {
          state.retry = false;
          result.resent++;
          shipOne(state, state.inFlight);
        }
        continue;
      }
      if (t < state.nextShip && t < stopAt) continue;
      state.nextShip += intervalMs;
      const due = Math.floor(((accrueUntil - start) / 1000) * ratePerAgent);
      const count = Math.min(MAX_LOG_BATCH, due - state.made);
      if (count <= 0) continue;
      const records = [];
      for (let k = 0; k < count; k++)
        records.push(makeRecord(state.prefix, state.made + k, revision));
      state.made += count;
      result.records += count;
      shipOne(state, { batchId: `${state.prefix}-b${state.made}`, records, dropped: 0 });
    }
  };
  const timer = setInterval(tick, 10);
  // Accrue for the duration, then keep shipping what is left and wait for the last acks.
  const deadline = stopAt + drainMs;
  await new Promise((resolve) => {
    const check = setInterval(() => {
      const t = now();
      const pending = states.some(
        (s) => s.inFlight || Math.floor((durationMs / 1000) * ratePerAgent) > s.made,
      );
      if ((t >= stopAt && !pending) || t >= deadline) {
        clearInterval(check);
        resolve(undefined);
      }
    }, 20);
  });
  clearInterval(timer);
  result.unacked = states.reduce((n, s) => n + (s.inFlight?.records.length ?? 0), 0);
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]
      : NaN;
  result.ackMs = { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? NaN };
  result.seconds = (now() - start) / 1000;
  result.eventLoopP99Ms = loop.percentile(99) / 1e6;
  send(result);
}

function stats() {
  return {
    type: 'stats',
    sockets: sockets.length,
    connected: sockets.filter((s) => s?.connected).length,
    disconnects,
    acked: Object.fromEntries([...revisions].map(([r, e]) => [r, e.times.length])),
    dataAcked: Object.fromEntries([...dataRevisions].map(([r, e]) => [r, e.times.length])),
    signals: {
      ...signalCounts,
      expected: signalExpect.values.size,
      socketsDone: signalExpect.done,
      leastReached: Math.min(...signalExpect.reached),
    },
    eventLoopP99Ms: loop.percentile(99) / 1e6,
    rssMiB: process.memoryUsage().rss / 1024 / 1024,
  };
}

process.on('message', (message) => {
  const fail = (error) => send({ type: 'error', message: String(error?.stack ?? error) });
  if (message.cmd === 'connect') {
    connectAll(message).catch(fail);
  } else if (message.cmd === 'drop') {
    try {
      dropAll();
    } catch (error) {
      fail(error);
    }
  } else if (message.cmd === 'reconnect') {
    try {
      reconnectAll(message);
    } catch (error) {
      fail(error);
    }
  } else if (message.cmd === 'logs') {
    shipLogs(message).catch(fail);
  } else if (message.cmd === 'signals-expect') {
    try {
      expectSignals(message);
    } catch (error) {
      fail(error);
    }
  } else if (message.cmd === 'stats') {
    send(stats());
  } else if (message.cmd === 'close') {
    closing = true;
    for (const socket of sockets) socket?.disconnect();
    send({ type: 'closed' });
    setTimeout(() => process.exit(0), 50);
  }
});
// An orphan (the parent died) never lingers.
process.on('disconnect', () => process.exit(0));
