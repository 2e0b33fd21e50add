import { describe, expect, it } from 'vitest';
import { InsertCoalescer, type CoalescedItem } from './insert-coalescer.js';

/** A write the test finishes by hand, recording what each write took. */
function manualWrite() {
  const writes: string[][] = [];
  const finish: (() => void)[] = [];
  const write = (items: CoalescedItem<string>[]) => {
    writes.push(items.map((i) => i.item));
    return new Promise<PromiseSettledResult<void>[]>((resolve) =>
      finish.push(() =>
        resolve(
          items.map((i) =>
            i.item.startsWith('bad')
              ? { status: 'rejected', reason: new Error(i.item) }
              : { status: 'fulfilled', value: undefined },
          ),
        ),
      ),
    );
  };
  return { writes, finish, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('InsertCoalescer', () => {
  it('writes items of the same turn together, and what arrives during a write in the next one', async () => {
    const { writes, finish, write } = manualWrite();
    const coalescer = new InsertCoalescer(write, 100);
    const first = [coalescer.submit('a', 10), coalescer.submit('b', 10)];
    await tick();
    expect(writes).toEqual([['a', 'b']]);
    const later = [coalescer.submit('c', 10), coalescer.submit('d', 10), coalescer.submit('e', 10)];
    await tick();
    expect(writes).toHaveLength(1); // one write at a time
    expect(coalescer.pendingWeight).toBe(50);
    finish[0]!();
    await Promise.all(first);
    await tick();
    expect(writes).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    finish[1]!();
    await Promise.all(later);
    expect(coalescer.pendingWeight).toBe(0);
  });

  it('caps a write at maxWeight, but always takes at least one item', async () => {
    const { writes, finish, write } = manualWrite();
    const coalescer = new InsertCoalescer(write, 25);
    const all = ['big', 'x', 'y', 'z'].map((item) =>
      coalescer.submit(item, item === 'big' ? 40 : 10),
    );
    for (let i = 0; i < 3; i++) {
      await tick();
      finish[i]!();
      await tick();
    }
    await Promise.all(all);
    expect(writes).toEqual([['big'], ['x', 'y'], ['z']]);
  });

  it('settles each item with its own outcome, and every item when the write throws', async () => {
    const { finish, write } = manualWrite();
    const coalescer = new InsertCoalescer(write, 100);
    const good = coalescer.submit('good', 1);
    const bad = coalescer.submit('bad-row', 1);
    await tick();
    finish[0]!();
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('bad-row');

    const failing = new InsertCoalescer<string>(() => Promise.reject(new Error('down')), 100);
    const results = await Promise.allSettled([failing.submit('a', 1), failing.submit('b', 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
