import { describe, expect, it } from 'vitest';
import { FakeClock, FakeLink } from './__support__/fakes.js';
import type { DecisionEntry } from './decision-record.js';
import { LogBuffer } from './log-buffer.js';
import { LogShipper } from './log-shipper.js';

function entry(n: number): DecisionEntry {
  return {
    decision: { effect: 'deny', reasons: [], revision: 2, decisionId: `d-${n}`, durationNs: 5 },
    at: 0,
    principal: 'p',
    action: 'a',
    resourceKind: 'k',
    resourceId: 'i',
  };
}

function setup(records: number) {
  const buffer = new LogBuffer(1000);
  for (let n = 0; n < records; n++) buffer.push(entry(n));
  const link = new FakeLink();
  const clock = new FakeClock();
  const shipper = new LogShipper({ buffer, sink: link, clock, batchSize: 4 });
  return { buffer, link, clock, shipper };
}

const shipped = (link: FakeLink) => link.batches.flatMap((b) => b.records.map((r) => r.decisionId));

describe('LogShipper', () => {
  it('sends nothing while disconnected', async () => {
    const { link, shipper, buffer } = setup(3);
    expect(await shipper.ship()).toBe('disconnected');
    expect(link.batches).toEqual([]);
    expect(buffer.size).toBe(3);
  });

  it('drains the buffer in batches once connected', async () => {
    const { link, shipper, buffer } = setup(10);
    link.connected = true;
    expect(await shipper.ship()).toBe('sent');
    expect(link.batches.map((b) => b.records.length)).toEqual([4, 4, 2]);
    expect(shipped(link)).toEqual(Array.from({ length: 10 }, (_, n) => `d-${n}`));
    expect(buffer.size + buffer.inFlightSize).toBe(0);
    expect(await shipper.ship()).toBe('empty');
  });

  it('resends an unacked batch with the same id, and never an acked one', async () => {
    const { link, shipper } = setup(6);
    link.connected = true;
    link.answer = () => {
      throw new Error('ack timeout');
    };
    expect(await shipper.ship()).toBe('failed');
    link.answer = () => ({ ok: true });
    expect(await shipper.ship()).toBe('sent');
    const [lost, resent, rest] = link.batches;
    expect(resent?.batchId).toBe(lost?.batchId);
    expect(resent?.records).toEqual(lost?.records);
    expect(rest?.records.map((r) => r.decisionId)).toEqual(['d-4', 'd-5']);
    expect(link.batches).toHaveLength(3);
  });

  it('requeues a refused batch and backs off', async () => {
    const { link, shipper, clock, buffer } = setup(3);
    link.connected = true;
    link.answer = () => ({ ok: false, error: 'queue unavailable' });
    expect(await shipper.ship()).toBe('refused');
    expect(buffer.size).toBe(3);
    expect(await shipper.ship()).toBe('backoff');
    clock.advance(1000);
    link.answer = () => ({ ok: true });
    expect(await shipper.ship()).toBe('sent');
    expect(link.batches[1]?.batchId).not.toBe(link.batches[0]?.batchId);
    expect(link.batches[1]?.records.map((r) => r.decisionId)).toEqual(['d-0', 'd-1', 'd-2']);
  });

  it('runs one shipment at a time', async () => {
    const { link, shipper } = setup(2);
    link.connected = true;
    let release!: () => void;
    link.answer = () => new Promise((resolve) => (release = () => resolve({ ok: true })));
    const first = shipper.ship();
    expect(await shipper.ship()).toBe('busy');
    await new Promise((r) => setImmediate(r));
    release();
    expect(await first).toBe('sent');
  });

  it('flushes after the shipment in progress, including records added meanwhile', async () => {
    const { link, shipper, buffer } = setup(2);
    link.connected = true;
    let release!: () => void;
    link.answer = () => new Promise((resolve) => (release = () => resolve({ ok: true })));
    const running = shipper.ship();
    await new Promise((r) => setImmediate(r));
    buffer.push(entry(99));
    const flushed = shipper.flush();
    link.answer = () => ({ ok: true });
    release();
    await running;
    expect(await flushed).toBe('empty');
    expect(shipped(link)).toEqual(['d-0', 'd-1', 'd-99']);
  });
});
