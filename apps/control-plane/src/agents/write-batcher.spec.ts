import { describe, expect, it } from 'vitest';
import { WriteBatcher } from './write-batcher.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WriteBatcher', () => {
  it('writes items queued within the delay as one batch, resolving each once written', async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number>(
      async (items) => {
        batches.push(items);
      },
      { delayMs: 20, maxItems: 100 },
    );
    const done = [batcher.add(1), batcher.add(2), batcher.add(3)];
    expect(batches).toEqual([]);
    await Promise.all(done);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('writes a full batch at once, and batches in the order they were queued', async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number>(
      async (items) => {
        await sleep(items[0] === 1 ? 30 : 0); // the first write is slow: the second must wait
        batches.push(items);
      },
      { delayMs: 10_000, maxItems: 2 },
    );
    await Promise.all([1, 2, 3, 4].map((n) => batcher.add(n)));
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("rejects a failed batch's items only, and keeps writing later batches", async () => {
    const batcher = new WriteBatcher<string>(
      async (items) => {
        if (items.includes('bad')) throw new Error('constraint violated');
      },
      { delayMs: 5, maxItems: 10 },
    );
    await expect(Promise.all([batcher.add('a'), batcher.add('bad')])).rejects.toThrow(
      'constraint violated',
    );
    await expect(batcher.add('c')).resolves.toBeUndefined();
  });

  it('flush writes what is queued without waiting for the delay', async () => {
    const written: string[] = [];
    const batcher = new WriteBatcher<string>(
      async (items) => {
        written.push(...items);
      },
      { delayMs: 60_000, maxItems: 10 },
    );
    const queued = batcher.add('x');
    await batcher.flush();
    await queued;
    expect(written).toEqual(['x']);
  });
});
