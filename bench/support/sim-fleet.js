// The parent's side of the simulated agents: N sockets spread over a few sim-agents.js processes,
// and the ack times of every revision gathered from all of them.
import { join } from 'node:path';
import { forkTracked, stopProcess, withTimeout } from './processes.js';

const WORKER = join(import.meta.dirname, 'sim-agents.js');

export class SimFleet {
  /** @param {{url: string, token: string, agents: number, processes: number, runId: string}} options */
  constructor(options) {
    this.options = options;
    this.workers = [];
    /** revision -> {kind, times: number[], parts: number} */
    this.revisions = new Map();
    this.waiters = new Set();
    this.lost = [];
  }

  /** Forks the processes and connects every socket; resolves with the connection summary. */
  async connect(timeoutMs = 90_000) {
    const { url, token, agents, processes, runId } = this.options;
    const started = performance.now();
    const shares = Array.from(
      { length: processes },
      (_, i) => Math.floor(agents / processes) + (i < agents % processes ? 1 : 0),
    ).filter((n) => n > 0);
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
              token,
              idPrefix: `bench-${runId}-n${agents}-p${w}`,
              count,
              concurrency: 25,
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
    return { connected, seconds: (performance.now() - started) / 1000 };
  }

  onMessage(worker, message) {
    if (message.type === 'complete') {
      let entry = this.revisions.get(message.revision);
      if (!entry) {
        entry = { kind: message.kind, times: [], parts: 0 };
        this.revisions.set(message.revision, entry);
      }
      entry.times.push(...message.times);
      entry.parts++;
      for (const waiter of this.waiters) waiter();
    } else if (message.type === 'disconnect') {
      this.lost.push(message);
    } else {
      const resolve = worker.pending.get(message.type);
      if (resolve) {
        worker.pending.delete(message.type);
        resolve(message);
      }
    }
  }

  /** Ack times of `revision` once every simulated agent acked it, else undefined. */
  completed(revision) {
    const entry = this.revisions.get(revision);
    return entry && entry.parts === this.workers.length ? entry : undefined;
  }

  /**
   * Waits until every agent acked a revision accepted by `match` (lowest first); resolves with
   * {revision, kind, times}. Rejects after `timeoutMs`, with how far the agents got.
   */
  async waitForRevision(match, timeoutMs) {
    const find = () => {
      const done = [...this.revisions.keys()]
        .filter((r) => match(r) && this.completed(r))
        .sort((a, b) => a - b);
      return done.length ? { revision: done[0], ...this.completed(done[0]) } : undefined;
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
        'every simulated agent to ack the new revision',
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
