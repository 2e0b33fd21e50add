import { MAX_LOG_BATCH } from '@stepgate/protocol';
import type { DecisionRecord, LogBatch } from '@stepgate/protocol';
import { toDecisionRecord, type DecisionEntry } from './decision-record.js';

export const DEFAULT_LOG_CAPACITY = 10_000;

/** A batch handed to the transport and not yet acked. */
interface InFlight {
  batch: LogBatch;
  entries: DecisionEntry[];
}

/**
 * The decision-log buffer: a bounded ring that drops the oldest record (and counts it) when
 * full, so a long control-plane outage costs memory up to `capacity` and no more.
 *
 * Shipping is one batch at a time: {@link takeBatch} moves records out of the ring into the
 * batch in flight (held beside the ring, not counted against `capacity`); {@link ackBatch}
 * forgets it for good, so nothing is sent again after an ack; {@link requeue} puts its
 * records back at the front, oldest first. Until one of those, {@link inFlight} returns the
 * same batch (same id) so a transport can resend it after a reconnect.
 */
export class LogBuffer {
  readonly capacity: number;
  private readonly ring: (DecisionEntry | undefined)[];
  private head = 0;
  private count = 0;
  private flight: InFlight | undefined;
  /** Drops not yet reported in an acked batch. */
  private droppedUnreported = 0;
  private droppedTotalCount = 0;
  private threshold = Number.POSITIVE_INFINITY;
  private thresholdListener: (() => void) | undefined;

  constructor(capacity: number = DEFAULT_LOG_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('the log buffer capacity must be a positive integer');
    this.capacity = capacity;
    this.ring = new Array<DecisionEntry | undefined>(capacity);
  }

  /** Records waiting in the ring (not counting a batch in flight). */
  get size(): number {
    return this.count;
  }

  get inFlightSize(): number {
    return this.flight?.entries.length ?? 0;
  }

  /** Every record ever dropped because the buffer was full. */
  get droppedTotal(): number {
    return this.droppedTotalCount;
  }

  /** Calls `listener` each time the ring reaches `count` records (to ship early). */
  onThreshold(count: number, listener: () => void): void {
    this.threshold = count;
    this.thresholdListener = listener;
  }

  push(entry: DecisionEntry): void {
    if (this.count === this.capacity) {
      // Full: the newest record overwrites the oldest.
      this.ring[this.head] = entry;
      this.head = (this.head + 1) % this.capacity;
      this.droppedUnreported++;
      this.droppedTotalCount++;
      return;
    }
    this.ring[(this.head + this.count) % this.capacity] = entry;
    this.count++;
    if (this.count === this.threshold) this.thresholdListener?.();
  }

  /** The batch in flight, if any: resend it as is (same batchId) until acked or requeued. */
  inFlight(): LogBatch | undefined {
    return this.flight?.batch;
  }

  /**
   * Moves up to `maxRecords` of the oldest records into a new batch in flight. The batch stays
   * under `maxBytes` of JSON (a single record above it is sent without its input). Returns
   * undefined when the ring is empty or a batch is already in flight.
   */
  takeBatch(maxRecords = 500, maxBytes = 256 * 1024): LogBatch | undefined {
    if (this.flight !== undefined || this.count === 0) return undefined;
    const limit = Math.min(maxRecords, MAX_LOG_BATCH, this.count);
    const entries: DecisionEntry[] = [];
    const records: DecisionRecord[] = [];
    let bytes = 0;
    while (entries.length < limit) {
      const entry = this.ring[this.head] as DecisionEntry;
      let record = toDecisionRecord(entry);
      let size = jsonSize(record);
      if (size > maxBytes && record.input !== undefined) {
        // Too large alone (or not serialisable, e.g. nested too deep): send it without its input.
        const { input: _dropped, ...rest } = record;
        record = rest;
        size = jsonSize(record);
      }
      if (entries.length > 0 && bytes + size > maxBytes) break;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      entries.push(entry);
      records.push(record);
      bytes += size;
    }
    const batch: LogBatch = {
      batchId: crypto.randomUUID(),
      records,
      dropped: this.droppedUnreported,
    };
    this.flight = { batch, entries };
    return batch;
  }

  /** The control plane has the batch: forget it. False when it is not the batch in flight. */
  ackBatch(batchId: string): boolean {
    if (this.flight?.batch.batchId !== batchId) return false;
    this.droppedUnreported -= this.flight.batch.dropped;
    this.flight = undefined;
    return true;
  }

  /**
   * The batch was refused: its records go back to the front, oldest first. Where that would
   * exceed the capacity the oldest of them are dropped (and counted).
   */
  requeue(batchId: string): boolean {
    if (this.flight?.batch.batchId !== batchId) return false;
    const { entries } = this.flight;
    this.flight = undefined;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (this.count === this.capacity) {
        this.droppedUnreported += i + 1;
        this.droppedTotalCount += i + 1;
        break;
      }
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.ring[this.head] = entries[i];
      this.count++;
    }
    return true;
  }
}

/** JSON length of a record; infinite when it cannot be serialised. */
function jsonSize(record: DecisionRecord): number {
  try {
    return JSON.stringify(record).length;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
