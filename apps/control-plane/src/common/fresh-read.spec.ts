import { describe, expect, it } from 'vitest';
import { FreshRead } from './fresh-read.js';

/** A read whose completion the test controls, counting how often it ran. */
function controlledRead() {
  const pending: ((value: number) => void)[] = [];
  let calls = 0;
  const read = () =>
    new Promise<number>((resolve) => {
      calls++;
      pending.push(resolve);
    });
  return { read, calls: () => calls, finish: (value: number) => pending.shift()?.(value) };
}

describe('FreshRead', () => {
  it('shares one read among callers that needed freshness from before it started', async () => {
    const source = controlledRead();
    const shared = new FreshRead(source.read);
    const joined = performance.now();
    const reads = [shared.get(joined), shared.get(joined), shared.get(joined)];
    source.finish(1);
    expect(await Promise.all(reads)).toEqual([1, 1, 1]);
    expect(source.calls()).toBe(1);
    // Settled, and still fresh enough for a caller that joined before it started.
    expect(await shared.get(joined)).toBe(1);
    expect(source.calls()).toBe(1);
  });

  it('never serves a caller a read that started before it needed freshness', async () => {
    const source = controlledRead();
    const shared = new FreshRead(source.read);
    const early = shared.get(performance.now());
    await new Promise((resolve) => setTimeout(resolve, 2));
    // Joined after the first read started: that read may predate a change it must see.
    const late = shared.get(performance.now());
    expect(source.calls()).toBe(2);
    source.finish(1);
    source.finish(2);
    expect(await early).toBe(1);
    expect(await late).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 2));
    // Settled values are no exception.
    const later = shared.get(performance.now());
    expect(source.calls()).toBe(3);
    source.finish(3);
    expect(await later).toBe(3);
  });

  it('passes a failed read to its callers and does not keep it', async () => {
    let fail = true;
    const shared = new FreshRead(async () => {
      if (fail) throw new Error('database unavailable');
      return 'ok';
    });
    const joined = performance.now();
    await expect(shared.get(joined)).rejects.toThrow('database unavailable');
    fail = false;
    expect(await shared.get(joined)).toBe('ok');
  });
});

describe('FreshRead with gathering', () => {
  it('starts one read after the window, shared by every caller arriving within it', async () => {
    const source = controlledRead();
    const shared = new FreshRead(source.read);
    const first = shared.get(performance.now(), 30);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = shared.get(performance.now(), 30);
    expect(source.calls()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(source.calls()).toBe(1);
    source.finish(7);
    expect(await Promise.all([first, second])).toEqual([7, 7]);
  });

  it('starts a gathering read at once for a caller that cannot wait', async () => {
    const source = controlledRead();
    const shared = new FreshRead(source.read);
    const gathering = shared.get(performance.now(), 10_000);
    const now = shared.get(performance.now());
    expect(source.calls()).toBe(1);
    source.finish(3);
    expect(await Promise.all([gathering, now])).toEqual([3, 3]);
  });
});
