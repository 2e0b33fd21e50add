import { describe, expect, it } from 'vitest';
import { logBatchSchema } from '@stepgate/protocol';
import type { DecisionEntry } from './decision-record.js';
import { LogBuffer } from './log-buffer.js';

function entry(n: number, input: Record<string, unknown> = { n }): DecisionEntry {
  return {
    decision: {
      effect: 'allow',
      reasons: [],
      revision: 1,
      decisionId: `d-${n}`,
      durationNs: 1000,
    },
    at: Date.parse('2026-11-23T10:00:00Z') + n,
    principal: `p${n}`,
    action: 'read',
    resourceKind: 'doc',
    resourceId: `r${n}`,
    input,
  };
}

const ids = (batch: { records: { decisionId: string }[] } | undefined) =>
  batch?.records.map((r) => r.decisionId) ?? [];

function fill(buffer: LogBuffer, from: number, to: number): void {
  for (let n = from; n <= to; n++) buffer.push(entry(n));
}

describe('LogBuffer', () => {
  it('hands out records oldest first as schema-valid batches', () => {
    const buffer = new LogBuffer(10);
    fill(buffer, 1, 5);
    const batch = buffer.takeBatch(3);
    expect(logBatchSchema.parse(batch)).toEqual(batch);
    expect(ids(batch)).toEqual(['d-1', 'd-2', 'd-3']);
    expect(batch?.dropped).toBe(0);
    expect(buffer.size).toBe(2);
    expect(buffer.inFlightSize).toBe(3);
  });

  it('drops the oldest when full, and counts it', () => {
    const buffer = new LogBuffer(3);
    fill(buffer, 1, 5);
    expect(buffer.size).toBe(3);
    expect(buffer.droppedTotal).toBe(2);
    const batch = buffer.takeBatch(10);
    expect(ids(batch)).toEqual(['d-3', 'd-4', 'd-5']);
    expect(batch?.dropped).toBe(2);
  });

  it('keeps one batch in flight: the same batch until it is acked', () => {
    const buffer = new LogBuffer(10);
    fill(buffer, 1, 4);
    const first = buffer.takeBatch(2)!;
    expect(buffer.takeBatch(2)).toBeUndefined();
    expect(buffer.inFlight()).toBe(first);
    expect(buffer.ackBatch('some-other-id')).toBe(false);
    expect(buffer.ackBatch(first.batchId)).toBe(true);
    expect(buffer.inFlight()).toBeUndefined();
    // Acked records are gone for good: the next batch starts after them.
    const second = buffer.takeBatch(10)!;
    expect(second.batchId).not.toBe(first.batchId);
    expect(ids(second)).toEqual(['d-3', 'd-4']);
    expect(buffer.ackBatch(first.batchId)).toBe(false);
  });

  it('requeues a refused batch at the front, in order', () => {
    const buffer = new LogBuffer(10);
    fill(buffer, 1, 3);
    const batch = buffer.takeBatch(2)!;
    fill(buffer, 4, 4);
    expect(buffer.requeue(batch.batchId)).toBe(true);
    expect(ids(buffer.takeBatch(10))).toEqual(['d-1', 'd-2', 'd-3', 'd-4']);
  });

  it('drops the oldest requeued records when the ring filled up meanwhile', () => {
    const buffer = new LogBuffer(4);
    fill(buffer, 1, 3);
    const batch = buffer.takeBatch(3)!;
    fill(buffer, 4, 6);
    buffer.requeue(batch.batchId);
    expect(buffer.droppedTotal).toBe(2);
    const next = buffer.takeBatch(10)!;
    expect(ids(next)).toEqual(['d-3', 'd-4', 'd-5', 'd-6']);
    expect(next.dropped).toBe(2);
  });

  it('reports drops until a batch carrying them is acked', () => {
    const buffer = new LogBuffer(2);
    fill(buffer, 1, 3); // d-1 dropped
    const a = buffer.takeBatch(10)!;
    expect(a.dropped).toBe(1);
    fill(buffer, 4, 6); // d-4 dropped while a is in flight
    buffer.ackBatch(a.batchId);
    const b = buffer.takeBatch(10)!;
    expect(b.dropped).toBe(1);
    buffer.ackBatch(b.batchId);
    fill(buffer, 7, 7);
    expect(buffer.takeBatch(10)?.dropped).toBe(0);
    expect(buffer.droppedTotal).toBe(2);
  });

  it('loses nothing within the bound across takes, failures and acks', () => {
    const buffer = new LogBuffer(1000);
    const delivered: string[] = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 17; i++) buffer.push(entry(n++));
      const batch = buffer.inFlight() ?? buffer.takeBatch(7);
      if (!batch) continue;
      if (round % 5 === 0) buffer.requeue(batch.batchId);
      else if (round % 3 === 0)
        continue; // no ack: resent next round
      else {
        delivered.push(...ids(batch));
        buffer.ackBatch(batch.batchId);
      }
    }
    for (
      let batch = buffer.inFlight() ?? buffer.takeBatch(1000);
      batch;
      batch = buffer.takeBatch(1000)
    ) {
      delivered.push(...ids(batch));
      buffer.ackBatch(batch.batchId);
    }
    expect(buffer.droppedTotal).toBe(0);
    expect(delivered).toEqual(Array.from({ length: n }, (_, i) => `d-${i}`));
  });

  it('keeps batches under the byte limit and strips the input of a record too large alone', () => {
    const buffer = new LogBuffer(10);
    const big = 'x'.repeat(2000);
    buffer.push(entry(1, { blob: big }));
    buffer.push(entry(2, { blob: big }));
    buffer.push(entry(3, { blob: 'y'.repeat(10_000) }));
    const first = buffer.takeBatch(10, 3000)!;
    expect(ids(first)).toEqual(['d-1']);
    buffer.ackBatch(first.batchId);
    // d-3 alone is above the limit: it goes without its input, and then fits beside d-2.
    const second = buffer.takeBatch(10, 3000)!;
    expect(ids(second)).toEqual(['d-2', 'd-3']);
    expect(second.records[0]?.input).toEqual({ blob: big });
    expect(second.records[1]?.input).toBeUndefined();
  });

  it('sends a record whose input cannot be serialised without it', () => {
    const buffer = new LogBuffer(10);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    buffer.push(entry(1));
    buffer.push(entry(2, deep));
    const batch = buffer.takeBatch(10)!;
    expect(ids(batch)).toEqual(['d-1', 'd-2']);
    expect(batch.records[1]?.input).toBeUndefined();
    expect(() => JSON.stringify(batch)).not.toThrow();
  });

  it('never builds a batch above the protocol maximum', () => {
    const buffer = new LogBuffer(5000);
    fill(buffer, 1, 3000);
    expect(buffer.takeBatch(5000, Number.POSITIVE_INFINITY)?.records).toHaveLength(1000);
  });

  it('signals when the threshold is reached', () => {
    const buffer = new LogBuffer(100);
    let calls = 0;
    buffer.onThreshold(3, () => calls++);
    fill(buffer, 1, 5);
    expect(calls).toBe(1);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new LogBuffer(0)).toThrow(RangeError);
    expect(() => new LogBuffer(1.5)).toThrow(RangeError);
  });
});
