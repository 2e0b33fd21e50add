import { Worker } from 'node:worker_threads';
import type { CompiledPolicySet } from '@stepgate/policy';
import type { ReplaySlice, ReplayWindow } from './replay-page-query.js';
import type { TallyState } from './replay-tally.js';

/** What a worker thread needs to replay its slice (its workerData). */
export interface SliceJob {
  /** The URL the Prisma pool connects with: the worker's own connection goes to the same place. */
  databaseUrl: string;
  policySet: CompiledPolicySet;
  window: ReplayWindow;
  slice: ReplaySlice;
  examples: number;
  pageSize: number;
}

/** Worker -> main thread. */
export type ToMain =
  | { type: 'progress'; read: number }
  | { type: 'ask'; id: number; labels: string[] }
  | { type: 'ask'; id: number; revision: number }
  | { type: 'end'; state: TallyState; stopped: boolean }
  | { type: 'failed'; message: string };

/** Main thread -> worker. */
export type ToWorker =
  | { type: 'job'; job: SliceJob }
  | { type: 'answer'; id: number; value?: unknown; error?: string }
  | { type: 'stop' };

/** What the main thread does for the workers: the reads it owns, and the progress writes. */
export interface WorkerHost {
  labels(agentIds: string[]): Promise<Map<string, Readonly<Record<string, string>>>>;
  documentsAt(revision: number): Promise<Record<string, unknown>>;
  /** Records the records read so far; false when the replay was cancelled meanwhile. */
  progress(read: number): Promise<boolean>;
}

export interface SlicesOutcome {
  /** Each slice's tally, in slice (time) order. */
  states: TallyState[];
  /** The replay was cancelled: the states are partial. */
  cancelled: boolean;
}

/** The compiled worker entry beside this file (dist/replay/replay-slice.worker.js). */
export const SLICE_WORKER = new URL('./replay-slice.worker.js', import.meta.url);

/** How long idle workers are kept after a replay. */
const IDLE_MS = 120_000;

/**
 * Replay worker threads kept idle for a while after a replay: starting one (loading the policy
 * engine, zod schemas and pg) costs 0.35-0.7 s of CPU, and replays come in bursts (every pushed
 * version, then the replays people ask for about it). An idle worker holds no connection and
 * does not keep the process alive; one that fails is never reused.
 */
export class ReplayWorkerPool {
  private idle: Worker[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly gone = new WeakMap<Worker, () => void>();

  constructor(
    private readonly script: URL | string = SLICE_WORKER,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** `count` workers, idle ones first. */
  take(count: number): Worker[] {
    clearTimeout(this.timer);
    const taken = this.idle.splice(0, count);
    for (const worker of taken) {
      const onExit = this.gone.get(worker);
      if (onExit !== undefined) worker.off('exit', onExit);
      worker.ref();
    }
    while (taken.length < count)
      taken.push(
        new Worker(this.script, {
          // None of the control plane's Node flags: the worker resolves packages as dist does,
          // even under a runner that adds --conditions for TypeScript sources.
          execArgv: [],
          name: 'replay worker',
        }),
      );
    return taken;
  }

  /** Workers whose slices ended well, kept for the next replay. */
  give(workers: readonly Worker[]): void {
    for (const worker of workers) {
      const onExit = () => {
        this.idle = this.idle.filter((other) => other !== worker);
      };
      this.gone.set(worker, onExit);
      worker.once('exit', onExit);
      worker.unref();
      this.idle.push(worker);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close(), this.idleMs);
    this.timer.unref();
  }

  /** Ends the idle workers (shutdown, or idle for long enough). */
  close(): void {
    clearTimeout(this.timer);
    for (const worker of this.idle) void worker.terminate();
    this.idle = [];
  }
}

/**
 * Replays `slices` of a window, one worker thread each from `pool`, in parallel. The workers'
 * records read are summed into progress writes (one at a time); a write answering "cancelled"
 * stops every worker at its next page, and their partial tallies are returned. A worker that
 * fails, throws or exits before its tally arrives fails the whole replay (every worker of it is
 * terminated): the promise rejects, never a partial result taken for a whole one.
 */
export function replayInWorkers(
  job: Omit<SliceJob, 'slice'>,
  slices: readonly ReplaySlice[],
  host: WorkerHost,
  pool: ReplayWorkerPool,
): Promise<SlicesOutcome> {
  return new Promise((resolve, reject) => {
    const states: (TallyState | undefined)[] = slices.map(() => undefined);
    const read = slices.map(() => 0);
    let ended = 0;
    let cancelled = false;
    let settled = false;
    let writing: Promise<void> | undefined;
    let dirty = false;
    let workers: Worker[] = [];
    const detach: (() => void)[] = [];

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      for (const off of detach) off();
      for (const worker of workers) void worker.terminate();
      reject(error);
    };

    const done = () => {
      if (settled || writing !== undefined) return;
      settled = true;
      for (const off of detach) off();
      pool.give(workers);
      resolve({ states: states as TallyState[], cancelled });
    };

    /** One progress write at a time; the sum written is the latest when it starts. */
    const report = () => {
      if (writing !== undefined) {
        dirty = true;
        return;
      }
      dirty = false;
      writing = host.progress(read.reduce((a, b) => a + b, 0)).then(
        (running) => {
          writing = undefined;
          if (!running && !cancelled) {
            cancelled = true;
            workers.forEach((worker, i) => {
              if (states[i] === undefined) worker.postMessage({ type: 'stop' } satisfies ToWorker);
            });
          }
          if (dirty && !cancelled && !settled) report();
          else if (ended === slices.length) done();
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
    };

    const answer = (worker: Worker, id: number, asked: Promise<unknown>) => {
      asked.then(
        (value) => worker.postMessage({ type: 'answer', id, value } satisfies ToWorker),
        (error: unknown) =>
          worker.postMessage({
            type: 'answer',
            id,
            error: error instanceof Error ? error.message : String(error),
          } satisfies ToWorker),
      );
    };

    const start = (worker: Worker, index: number) => {
      const name = `replay worker ${index + 1} of ${slices.length}`;
      const onMessage = (message: ToMain) => {
        if (settled) return;
        switch (message.type) {
          case 'progress':
            read[index] = message.read;
            report();
            break;
          case 'ask':
            answer(
              worker,
              message.id,
              'labels' in message
                ? host.labels(message.labels)
                : host.documentsAt(message.revision),
            );
            break;
          case 'end':
            states[index] = message.state;
            read[index] = message.state.records;
            ended++;
            if (ended === slices.length) done();
            break;
          case 'failed':
            fail(new Error(`${name} failed: ${message.message}`));
            break;
        }
      };
      const onError = (error: Error) =>
        fail(new Error(`${name} failed: ${error.message.split('\n')[0] ?? 'worker error'}`));
      const onExit = (code: number) =>
        fail(new Error(`${name} stopped before the end of its slice (exit code ${code})`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      detach.push(() => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      });
      worker.postMessage({
        type: 'job',
        job: { ...job, slice: slices[index]! },
      } satisfies ToWorker);
    };

    try {
      workers = pool.take(slices.length);
      workers.forEach(start);
    } catch (error) {
      fail(new Error(`replay workers could not start: ${(error as Error).message}`));
    }
  });
}
