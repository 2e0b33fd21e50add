// The parent's side of the simulated agents: N sockets spread over a few sim-agents.js processes,
// and the ack times of every revision gathered from all of them; a reconnect storm (every socket
// dropped at once, then back within the agent's retry window) and decision-log shipping at a
// target rate, with each process's own figures.
import { join } from 'node:path';
import { forkTracked, stopProcess, withTimeout } from './processes.js';

const WORKER = join(import.meta.dirname, 'sim-agents.js');

export class SimFleet {
  /**
   * `concurrency`: connections each process opens at a time (default 25); a real fleet has no
   * such limit, so a higher one measures the control plane rather than the simulator.
   * `tokensFor(agentIds)`: one agent token per simulated agent (a token is bound to one agent id).
   * @param {{url: string, tokensFor: (agentIds: string[]) => Promise<string[]>, agents: number, processes: number, runId: string, concurrency?: number}} options
   */
  constructor(options) {
    this.options = options;
    this.workers = [];
    /** revision -> {kind, times: number[], parts: number} */
    this.revisions = new Map();
    /** Live data: data revision -> {times: number[], parts: number} */
    this.dataRevisions = new Map();
    this.waiters = new Set();
    this.lost = [];
    /** Errors the worker processes reported. */
    this.errors = [];
  }

  /**
   * Creates the agents' tokens, then forks the processes and connects every socket; resolves
   * with the connection summary (its time excludes creating the tokens).
   */
  async connect(timeoutMs = 90_000) {
    const { url, tokensFor, agents, processes, runId } = this.options;
    const shares = Array.from(
      { length: processes },
      (_, i) => Math.floor(agents / processes) + (i < agents % processes ? 1 : 0),
    ).filter((n) => n > 0);
    const idPrefixes = shares.map((_, w) => `bench-${runId}-n${agents}-p${w}`);
    const tokens = [];
    for (const [w, count] of shares.entries())
      tokens.push(
        await tokensFor(Array.from({ length: count }, (_, i) => `${idPrefixes[w]}-${i}`)),
      );
    const started = performance.now();
    const summaries = await withTimeout(
      Promise.all(
        shares.map((count, w) => {
          const child = forkTracked(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          const worker = { child, count, pending: new Map() };
          this.workers.push(worker);
          child.on('message', (message) => this.onMessage(worker, message));
          return new Promise((resolve, reject) => {
            worker.pending.set('connected', resolve);
            child.once('exit', (code) =>
              reject(new Error(`sim-agents process exited with ${code}`)),
            );
            child.send({
              cmd: 'connect',
              url,
              tokens: tokens[w],
              idPrefix: idPrefixes[w],
              count,
              concurrency: this.options.concurrency ?? 25,
            });
          });
        }),
      ),
      timeoutMs,
      `connecting ${agents} simulated agents`,
    );
    const connected = summaries.reduce((n, s) => n + s.connected, 0);
    const failed = summaries.reduce((n, s) => n + s.failed, 0);
    if (connected !== agents)
      throw new Error(
        `only ${connected} of ${agents} simulated agents connected (${failed} refused: ${JSON.stringify(summaries.map((s) => s.errors))})`,
      );
    const retried = summaries.reduce((n, s) => n + (s.retried ?? 0), 0);
    return { connected, retried, seconds: (performance.now() - started) / 1000 };
  }

  onMessage(worker, message) {
    if (message.type === 'complete' || message.type === 'data-complete') {
      const revisions = message.type === 'complete' ? this.revisions : this.dataRevisions;
      let entry = revisions.get(message.revision);
      if (!entry) {
        entry = { kind: message.kind ?? 'data', times: [], parts: 0 };
        revisions.set(message.revision, entry);
      }
      entry.times.push(...message.times);
      entry.parts++;
      for (const waiter of this.waiters) waiter();
    } else if (message.type === 'disconnect') {
      this.lost.push(message);
    } else if (message.type === 'error') {
      // A failed command: whoever waits on this worker learns why instead of timing out.
      for (const waiting of worker.pending.values())
        if (Array.isArray(waiting)) waiting[2](new Error(`sim-agents: ${message.message}`));
      worker.pending.clear();
      this.errors.push(message.message);
    } else {
      const waiting = worker.pending.get(message.type);
      if (waiting) {
        worker.pending.delete(message.type);
        (typeof waiting === 'function' ? waiting : waiting[0])(message);
      }
    }
  }

  /** Ack times of `revision` once every simulated agent acked it, else undefined. */
  completed(revision, revisions = this.revisions) {
    const entry = revisions.get(revision);
    return entry && entry.parts === this.workers.length ? entry : undefined;
  }

  /**
   * Waits until every agent acked a revision accepted by `match` (lowest first); resolves with
   * {revision, kind, times}. Rejects after `timeoutMs`, with how far the agents got.
   * `data: true`: a live-data revision (`data:ack`) rather than a bundle revision.
   */
  async waitForRevision(match, timeoutMs, { data = false } = {}) {
    const revisions = data ? this.dataRevisions : this.revisions;
    const find = () => {
      const done = [...revisions.keys()]
        .filter((r) => match(r) && this.completed(r, revisions))
        .sort((a, b) => a - b);
      return done.length ? { revision: done[0], ...this.completed(done[0], revisions) } : undefined;
    };
    let waiter;
    try {
      return await withTimeout(
        new Promise((resolve, reject) => {
          waiter = () => {
            if (this.lost.length)
              reject(
                new Error(
                  `${this.lost.length} simulated agents lost their connection (${this.lost[0].reason})`,
                ),
              );
            const found = find();
            if (found) resolve(found);
          };
          this.waiters.add(waiter);
          waiter();
        }),
        timeoutMs,
        `every simulated agent to ack the new ${data ? 'data ' : ''}revision`,
      );
    } catch (error) {
      const stats = await this.stats().catch(() => []);
      throw new Error(`${error.message}; agents: ${JSON.stringify(stats)}`);
    } finally {
      this.waiters.delete(waiter);
    }
  }

  async stats() {
    return withTimeout(
      Promise.all(
        this.workers.map(
          (worker) =>
            new Promise((resolve) => {
              worker.pending.set('stats', resolve);
              worker.child.send({ cmd: 'stats' });
            }),
        ),
      ),
      5000,
      'simulated agent stats',
    );
  }

  /** Sends `command` to every worker; resolves with each one's `reply` message. */
  ask(command, reply, timeoutMs, what) {
    return withTimeout(
      Promise.all(
        this.workers.map(
          (worker, index) =>
            new Promise((resolve, reject) => {
              // [resolve, unused, reject]: an 'error' from the worker rejects it.
              worker.pending.set(reply, [resolve, undefined, reject]);
              worker.child.send(typeof command === 'function' ? command(worker, index) : command);
            }),
        ),
      ),
      timeoutMs,
      what,
    );
  }

  /**
   * Tells every process which risk-signal values to wait for (`[subject, name, value]`, each
   * socket holding the highest-seq value pushed for a subject and name); resolves once they all
   * listen, with `done()`: resolves with the epoch ms at which each socket held them all.
   */
  async expectSignals(expected, timeoutMs) {
    const complete = withTimeout(
      Promise.all(
        this.workers.map(
          (worker) =>
            new Promise((resolve, reject) =>
              worker.pending.set('signals-complete', [resolve, undefined, reject]),
            ),
        ),
      ),
      timeoutMs,
      'every simulated agent to hold the expected signal values',
    );
    complete.catch(() => undefined); // awaited through done()
    await this.ask(
      { cmd: 'signals-expect', expected },
      'signals-expecting',
      30_000,
      'expectSignals',
    );
    return {
      done: async () => {
        try {
          return { times: (await complete).flatMap((reply) => reply.times) };
        } catch (error) {
          const stats = await this.stats().catch(() => []);
          throw new Error(`${error.message}; agents: ${JSON.stringify(stats)}`);
        }
      },
    };
  }

  /**
   * Closes every socket's transport at once (the control plane sees N "transport close"
   * disconnects, as on a network drop). Resolves once every process has closed its sockets.
   */
  async dropAll() {
    const replies = await this.ask({ cmd: 'drop' }, 'dropped', 30_000, 'dropping every socket');
    return { sockets: replies.reduce((n, r) => n + r.sockets, 0) };
  }

  /**
   * Reconnects every dropped socket, each after a random delay in [minDelayMs, maxDelayMs]
   * (then the agent's backoff when refused); resolves once all are connected with
   * {startedAt, times (epoch ms of each connect), attempts, errors}.
   */
  async reconnectAll({ minDelayMs = 500, maxDelayMs = 1500, timeoutMs = 120_000 } = {}) {
    const startedAt = performance.timeOrigin + performance.now();
    const replies = await this.ask(
      { cmd: 'reconnect', minDelayMs, maxDelayMs },
      'reconnected',
      timeoutMs,
      'every dropped socket to reconnect',
    );
    const errors = {};
    for (const reply of replies)
      for (const [text, count] of Object.entries(reply.errors))
        errors[text] = (errors[text] ?? 0) + count;
    return {
      startedAt,
      times: replies.flatMap((r) => r.times),
      attempts: replies.reduce((n, r) => n + r.attempts, 0),
      errors,
    };
  }

  /**
   * Ships decision logs from `agents` sockets (spread over the processes) at `rate` records/s
   * in total for `durationMs`, each agent shipping every `intervalMs`; then waits up to
   * `drainMs` for the last acks. Resolves with the totals and each process's figures.
   */
  async shipLogs({ agents, rate, intervalMs = 1000, durationMs, revision = 1, drainMs = 15_000 }) {
    if (agents > this.options.agents)
      throw new Error(`only ${this.options.agents} simulated agents to ship from, not ${agents}`);
    const shares = this.workers.map(
      (_, i) =>
        Math.floor(agents / this.workers.length) + (i < agents % this.workers.length ? 1 : 0),
    );
    const perProcess = await this.ask(
      (_, i) => ({
        cmd: 'logs',
        agents: shares[i],
        ratePerAgent: rate / agents,
        intervalMs,
        durationMs,
        revision,
        drainMs,
      }),
      'logs-done',
      durationMs + drainMs + 30_000,
      'shipping decision logs',
    );
    const sum = (field) => perProcess.reduce((n, r) => n + r[field], 0);
    return {
      records: sum('records'),
      acked: sum('acked'),
      batches: sum('batches'),
      ackedBatches: sum('ackedBatches'),
      notOk: sum('notOk'),
      timeouts: sum('timeouts'),
      resent: sum('resent'),
      unacked: sum('unacked'),
      perProcess: perProcess.map(({ type: _type, ...rest }) => rest),
    };
  }

  /** Disconnects every socket and ends the processes. */
  async close() {
    await Promise.all(
      this.workers.map(async (worker) => {
        try {
          if (worker.child.connected) worker.child.send({ cmd: 'close' });
        } catch {
          // already gone
        }
        await withTimeout(
          new Promise((r) => (worker.child.exitCode !== null ? r() : worker.child.once('exit', r))),
          5000,
          'a sim-agents process to exit',
        ).catch(() => stopProcess(worker.child, 1000));
      }),
    );
    this.workers = [];
  }
}
