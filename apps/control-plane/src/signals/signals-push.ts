import { Inject, Injectable } from '@nestjs/common';
import {
  signSignalsMessage,
  SIGNALS_MAX_VALUES,
  type SignalUpdate,
  type SignalsMessage,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import { FreshRead } from '../common/fresh-read.js';
import { SigningKeyService } from '../bundles/signing-key.service.js';
import { LOGGER } from '../logging/logger.js';
import { SignalEvents } from './signal.events.js';
import { SignalsMetrics } from './signals.metrics.js';
import { SignalsService } from './signals.service.js';

/** How long changed values wait for others, so a burst of events is one signed message. */
export const SIGNALS_BATCH_MS = 20;
/** How long a connecting agent's snapshot read waits to be shared with other connections. */
const GATHER_SNAPSHOT_MS = 25;

/**
 * What the agent gateway sends of risk signals: changed values, gathered for a few
 * milliseconds and signed as one message (broadcast through the namespace, so the Redis
 * adapter carries it to agents on every replica), and the signed snapshot of every current
 * value a connecting agent gets.
 */
@Injectable()
export class SignalsPush {
  private pending: SignalUpdate[] = [];
  private timer?: NodeJS.Timeout;
  /** Messages are signed and sent in the order the changes happened. */
  private sending: Promise<void> = Promise.resolve();
  private readonly snapshots = new FreshRead(() => this.signedSnapshot());

  constructor(
    private readonly signals: SignalsService,
    private readonly events: SignalEvents,
    private readonly keys: SigningKeyService,
    private readonly metrics: SignalsMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Broadcasts every change with `emit` (the namespace's) from now on; returns the stop. */
  start(emit: (message: SignalsMessage) => void): () => void {
    const unsubscribe = this.events.onChanged((values) => {
      this.pending.push(...values);
      this.timer ??= setTimeout(() => this.flush(emit), SIGNALS_BATCH_MS);
    });
    return () => {
      unsubscribe();
      clearTimeout(this.timer);
      this.timer = undefined;
    };
  }

  /**
   * Sends a connecting agent every current value (a snapshot: it drops what it held that is not
   * listed). A failure is logged, not thrown: values also expire on the agent, and the next
   * change or connection brings them.
   */
  async sendSnapshot(emit: (message: SignalsMessage) => void, joinedAt: number): Promise<void> {
    try {
      const messages = await this.snapshots.get(joinedAt, GATHER_SNAPSHOT_MS);
      for (const { message, values } of messages) {
        emit(message);
        this.metrics.messages.inc({ via: 'connect' });
        this.metrics.pushed.inc({ via: 'connect' }, values);
      }
    } catch (error) {
      this.logger.warn(
        { error: (error as Error).message },
        'could not send a risk-signal snapshot to a connecting agent',
      );
    }
  }

  private flush(emit: (message: SignalsMessage) => void): void {
    this.timer = undefined;
    const values = this.pending;
    this.pending = [];
    this.sending = this.sending
      .then(async () => {
        for (let i = 0; i < values.length; i += SIGNALS_MAX_VALUES) {
          const chunk = values.slice(i, i + SIGNALS_MAX_VALUES);
          const seq = Math.max(...chunk.map((value) => value.seq));
          emit(
            await signSignalsMessage({ snapshot: false, seq, values: chunk }, this.keys.current()),
          );
          this.metrics.messages.inc({ via: 'broadcast' });
          this.metrics.pushed.inc({ via: 'broadcast' }, chunk.length);
        }
      })
      .catch((error: unknown) =>
        // Agents get the values in the snapshot of their next connection (and they expire).
        this.logger.warn(
          { error: (error as Error).message, values: values.length },
          'could not push changed risk signals to agents',
        ),
      );
  }

  /** The snapshot, signed: the first message replaces what agents hold, the rest add to it. */
  private async signedSnapshot(): Promise<{ message: SignalsMessage; values: number }[]> {
    const { seq, values } = await this.signals.snapshot();
    const key = this.keys.current();
    const messages: { message: SignalsMessage; values: number }[] = [];
    for (let i = 0; i === 0 || i < values.length; i += SIGNALS_MAX_VALUES) {
      const chunk = values.slice(i, i + SIGNALS_MAX_VALUES);
      messages.push({
        message: await signSignalsMessage({ snapshot: i === 0, seq, values: chunk }, key),
        values: chunk.length,
      });
    }
    return messages;
  }
}
