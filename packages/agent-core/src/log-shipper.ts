import type { LogBuffer } from './log-buffer.js';
import { silentLogger, systemClock, type Clock, type Logger, type LogSink } from './ports.js';

export type ShipResult =
  'empty' | 'sent' | 'busy' | 'disconnected' | 'failed' | 'refused' | 'backoff';

export interface LogShipperOptions {
  buffer: LogBuffer;
  sink: LogSink;
  clock?: Clock;
  logger?: Logger;
  /** Records per batch (at most MAX_LOG_BATCH). */
  batchSize?: number;
  /** JSON bytes per batch, below the control plane's message size limit. */
  maxBatchBytes?: number;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Moves decision records from the buffer to the control plane, one batch at a time.
 * - acked (`ok: true`): the batch is forgotten;
 * - refused (`ok: false`): its records go back to the front and shipping backs off;
 * - no answer (timeout, disconnect): the same batch, same id, is sent again next time, so the
 *   control plane can recognise a batch it already has.
 */
export class LogShipper {
  private readonly buffer: LogBuffer;
  private readonly sink: LogSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private shipping: Promise<ShipResult> | undefined;
  private refusals = 0;
  private retryAt = 0;

  constructor(options: LogShipperOptions) {
    this.buffer = options.buffer;
    this.sink = options.sink;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.batchSize = options.batchSize ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
  }

  /**
   * Ships batches until the buffer is empty or a batch is not acked. Concurrent calls share
   * the run in progress ('busy').
   */
  ship(): Promise<ShipResult> {
    if (this.shipping !== undefined) return Promise.resolve('busy');
    const run = this.drain().finally(() => {
      this.shipping = undefined;
    });
    this.shipping = run;
    return run;
  }

  /** Waits for a shipment in progress, then ships what is left (shutdown). */
  async flush(): Promise<ShipResult> {
    for (;;) {
      if (this.shipping !== undefined) await this.shipping;
      const result = await this.ship();
      if (result !== 'busy') return result;
    }
  }

  private async drain(): Promise<ShipResult> {
    let result: ShipResult = 'empty';
    for (;;) {
      if (!this.sink.connected) return 'disconnected';
      if (this.clock.now() < this.retryAt) return 'backoff';
      const batch =
        this.buffer.inFlight() ?? this.buffer.takeBatch(this.batchSize, this.maxBatchBytes);
      if (batch === undefined) return result;
      let ack;
      try {
        ack = await this.sink.sendLogs(batch);
      } catch (error) {
        this.logger.debug(
          { batchId: batch.batchId, error: error instanceof Error ? error.message : String(error) },
          'a decision-log batch was not acked; it will be sent again',
        );
        return 'failed';
      }
      if (ack.ok) {
        this.buffer.ackBatch(batch.batchId);
        this.refusals = 0;
        result = 'sent';
        continue;
      }
      this.buffer.requeue(batch.batchId);
      this.refusals++;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.refusals - 1, 5));
      this.retryAt = this.clock.now() + delay;
      this.logger.warn(
        { records: batch.records.length, error: ack.error, retryInMs: delay },
        'the control plane refused a decision-log batch; retrying later',
      );
      return 'refused';
    }
  }
}
