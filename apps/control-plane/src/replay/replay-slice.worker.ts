/**
 * Worker-thread entry of replay slices (see replay-workers.ts): for each job it is given, reads
 * its slice of the window with its own PostgreSQL connection, decides each record with the
 * candidate, posts the records read after every page and its tally at the end, then waits for
 * the next job (a pool keeps it for a while). Agents' labels and live documents are asked of
 * the main thread, whose repositories own those reads. Loads neither Nest nor Prisma.
 */
import { parentPort } from 'node:worker_threads';
import pg from 'pg';
import { ReplayEvaluator } from './replay-evaluator.js';
import { ReplayPageReader } from './replay-page-reader.js';
import { replaySlice } from './replay-slice-loop.js';
import { ReplayTally } from './replay-tally.js';
import type { SliceJob, ToMain, ToWorker } from './replay-workers.js';

const port = parentPort!;
let stopped = false;
let asked = 0;
const answers = new Map<
  number,
  { resolve: (value: unknown) => void; reject: (e: Error) => void }
>();

port.on('message', (message: ToWorker) => {
  if (message.type === 'job') {
    stopped = false;
    // The thread then waits for the next job, or to be terminated: a failed one never runs
    // another (the main thread terminates it).
    run(message.job).catch((error: unknown) =>
      post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
    return;
  }
  if (message.type === 'stop') {
    stopped = true;
    return;
  }
  const waiting = answers.get(message.id);
  if (waiting === undefined) return;
  answers.delete(message.id);
  if (message.error !== undefined) waiting.reject(new Error(message.error));
  else waiting.resolve(message.value);
});

function post(message: ToMain): void {
  port.postMessage(message);
}

function ask<T>(question: { labels: string[] } | { revision: number }): Promise<T> {
  const id = ++asked;
  return new Promise<T>((resolve, reject) => {
    answers.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post({ type: 'ask', id, ...question });
  });
}

async function run(job: SliceJob): Promise<void> {
  const client = new pg.Client({ connectionString: job.databaseUrl });
  // A connection error between queries is also an error of the slice, not an uncaught one.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const reader = new ReplayPageReader(client);
    const tally = new ReplayTally(job.examples);
    const finished = await replaySlice(
      new ReplayEvaluator(job.policySet),
      tally,
      {
        page: (cursor, limit) => reader.page(job.window, cursor, limit, job.slice),
        labels: (agentIds) => ask({ labels: agentIds }),
        documentsAt: (revision) => ask({ revision }),
      },
      job.pageSize,
      async (read) => {
        post({ type: 'progress', read });
        return !stopped;
      },
    );
    await client.end();
    post({ type: 'end', state: tally.state(), stopped: !finished });
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
