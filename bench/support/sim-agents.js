// A child process holding many simulated agents: real socket.io-client connections to the
// control plane's /agents namespace (WebSocket transport only) that verify nothing and ack every
// bundle they receive at once. Driven by its parent over the IPC channel:
//   parent -> {cmd: 'connect', url, token, idPrefix, count, concurrency}
//          -> {cmd: 'stats'} | {cmd: 'close'}
//   child  -> {type: 'connected', connected, failed, errors, ms}
//          -> {type: 'complete', revision, kind, times}  every socket here acked `revision`
//          -> {type: 'disconnect', agentId, reason}        (a socket was lost)
//          -> {type: 'stats', ...} | {type: 'closed'}
// Times are epoch milliseconds from performance.timeOrigin + performance.now(), comparable with
// the parent's clock on the same machine.
import { AGENT_NAMESPACE } from '@stepgate/protocol';
import { io } from 'socket.io-client';

const now = () => performance.timeOrigin + performance.now();
const send = (message) => process.send?.(message);

/** @type {import('socket.io-client').Socket[]} */
const sockets = [];
/** revision -> {kind, times: number[], seen: Set<number>} */
const revisions = new Map();
let closing = false;
let disconnects = 0;

function onBundle(index, message) {
  const t = now();
  const socket = sockets[index];
  socket.emit('bundle:ack', {
    kind: message.kind,
    revision: message.revision,
    appliedAt: new Date().toISOString(),
  });
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

function connectOne(url, token, agentId, index) {
  return new Promise((resolve) => {
    const socket = io(`${url}${AGENT_NAMESPACE}`, {
      auth: { token, agentId, labels: { bench: 'sim' }, revisions: {} },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    sockets[index] = socket;
    socket.on('bundle', (message) => onBundle(index, message));
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', (error) => resolve(error.message));
    socket.on('disconnect', (reason) => {
      if (closing) return;
      disconnects++;
      send({ type: 'disconnect', agentId, reason });
    });
  });
}

async function connectAll({ url, token, idPrefix, count, concurrency }) {
  const started = now();
  const errors = new Map();
  let next = 0;
  let failed = 0;
  sockets.length = count;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      const error = await connectOne(url, token, `${idPrefix}-${index}`, index);
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
    errors: Object.fromEntries(errors),
    ms: now() - started,
  });
}

function stats() {
  return {
    type: 'stats',
    sockets: sockets.length,
    connected: sockets.filter((s) => s?.connected).length,
    disconnects,
    acked: Object.fromEntries([...revisions].map(([r, e]) => [r, e.times.length])),
  };
}

process.on('message', (message) => {
  if (message.cmd === 'connect') {
    connectAll(message).catch((error) => send({ type: 'error', message: String(error) }));
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
