import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplaySlice } from './replay-page-query.js';
import { ReplayTally } from './replay-tally.js';
import {
  replayInWorkers,
  ReplayWorkerPool,
  type SliceJob,
  type WorkerHost,
} from './replay-workers.js';

/**
 * The thread protocol of replayInWorkers, with stand-in worker scripts (plain ESM, so no build
 * is needed): each behaves as its slice's `through.id` says. The real worker entry, reading and
 * deciding, runs in test/integration/control-plane/replay-workers.spec.ts on the built app.
 */
const STAND_IN = `
import { parentPort, threadId } from 'node:worker_threads';
const state = (records, id) => ({
  records, replayed: records, changed: 0, skipped: 0,
  notReplayable: { groups: [], overflow: false },
  changes: { groups: [['allow -> deny', { count: records, examples: [{ decisionId: id }] }]], overflow: false },
  rules: { groups: [], overflow: false }, principals: { groups: [], overflow: false },
  actions: { groups: [], overflow: false },
});
let stopped = false;
let mode;
parentPort.on('message', (m) => {
  if (m.type === 'stop') stopped = true;
  if (m.type === 'answer')
    parentPort.postMessage({ type: 'end', state: state(Number(m.value.get('a').n), mode), stopped });
  if (m.type === 'job') run(m.job);
});
function run(job) {
  stopped = false;
  mode = job.slice.through?.id ?? 'last';
  if (mode === 'throw') throw new Error('boom in the slice');
  if (mode === 'exit') process.exit(3);
  if (mode === 'fail') parentPort.postMessage({ type: 'failed', message: 'page read refused' });
  if (mode === 'ask') parentPort.postMessage({ type: 'ask', id: 1, labels: ['a'] });
  if (mode === 'thread')
    parentPort.postMessage({ type: 'end', state: state(1, String(threadId)), stopped });
  if (mode === 'slow' || mode === 'last') {
    let read = 0;
    const tick = () => {
      read += 10;
      parentPort.postMessage({ type: 'progress', read });
      if (stopped || read >= 50) parentPort.postMessage({ type: 'end', state: state(read, mode), stopped });
      else setTimeout(tick, 20);
    };
    setTimeout(tick, mode === 'slow' ? 100 : 0);
  }
}
`;

const dir = mkdtempSync(join(tmpdir(), 'replay-workers-'));
const script = join(dir, 'stand-in.mjs');
writeFileSync(script, STAND_IN);
const pool = new ReplayWorkerPool(script);
afterAll(() => {
  pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const JOB: Omit<SliceJob, 'slice'> = {
  databaseUrl: 'postgresql://unused',
  policySet: {} as SliceJob['policySet'],
  window: { since: new Date(0), until: new Date(1), filter: {} },
  examples: 5,
  pageSize: 10,
};

function slices(...modes: string[]): ReplaySlice[] {
  return modes.map((mode) => ({
    after: null,
    through: mode === 'last' ? null : { at: new Date(0), id: mode },
  }));
}

function host(running = () => true): WorkerHost & { written: number[] } {
  const written: number[] = [];
  return {
    written,
    labels: async (ids) => new Map(ids.map((id) => [id, { n: '7' }])) as never,
    documentsAt: async () => ({}),
    progress: async (read) => {
      written.push(read);
      return running();
    },
  };
}

describe('replayInWorkers', () => {
  it('returns the slices’ tallies in slice order, whichever ends first', async () => {
    const outcome = await replayInWorkers(JOB, slices('slow', 'last'), host(), pool);
    expect(outcome.cancelled).toBe(false);
    const merged = new ReplayTally(5);
    for (const state of outcome.states) merged.merge(state);
    expect(merged.result().changes[0]).toMatchObject({
      count: 100,
      examples: [{ decisionId: 'slow' }, { decisionId: 'last' }],
    });
  });

  it('answers a worker’s questions from the host', async () => {
    // The stand-in ends with as many records as the labels it was answered say.
    const outcome = await replayInWorkers(JOB, slices('ask', 'last'), host(), pool);
    expect(outcome.states.map((state) => state.records)).toEqual([7, 50]);
  });

  it('stops every worker when a progress write answers "cancelled", with their partial tallies', async () => {
    const h = host(() => false);
    const outcome = await replayInWorkers(JOB, slices('slow', 'last'), h, pool);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.states).toHaveLength(2);
    expect(outcome.states.reduce((sum, state) => sum + state.records, 0)).toBeLessThan(100);
  });

  it.each([
    ['throw', 'replay worker 1 of 2 failed: boom in the slice'],
    ['exit', 'replay worker 1 of 2 stopped before the end of its slice (exit code 3)'],
    ['fail', 'replay worker 1 of 2 failed: page read refused'],
  ])(
    'fails the replay when a worker %s (never hangs, no partial result)',
    async (mode, message) => {
      await expect(replayInWorkers(JOB, slices(mode, 'last'), host(), pool)).rejects.toThrow(
        message,
      );
    },
  );

  it('keeps the workers of a replay that ended well for the next one, never those of a failed one', async () => {
    const threads = async () =>
      (await replayInWorkers(JOB, slices('thread', 'thread'), host(), pool)).states
        .map((state) => state.changes.groups[0]![1].examples[0]!.decisionId)
        .sort();
    const first = await threads();
    expect(await threads()).toEqual(first);
    await expect(replayInWorkers(JOB, slices('fail', 'thread'), host(), pool)).rejects.toThrow();
    const after = await threads();
    expect(after.filter((id) => first.includes(id))).toEqual([]);
  });

  it('fails the replay when the worker script cannot be loaded', async () => {
    await expect(
      replayInWorkers(
        JOB,
        slices('last', 'last'),
        host(),
        new ReplayWorkerPool(join(dir, 'missing.mjs')),
      ),
    ).rejects.toThrow(/replay worker \d of 2 failed: Cannot find module/);
  });
});
