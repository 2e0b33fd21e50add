import { Injectable } from '@nestjs/common';
import type { SignalUpdate } from '@stepgate/protocol';
import { EventEmitter } from 'node:events';

/** The event emitted (in-process) when per-subject signal values change, for the gateway to push. */
export const SIGNALS_CHANGED = 'signals.changed';

/** In-process notification of changed signal values (the agent gateway listens). */
@Injectable()
export class SignalEvents {
  private readonly emitter = new EventEmitter();

  emitChanged(values: SignalUpdate[]): void {
    if (values.length > 0) this.emitter.emit(SIGNALS_CHANGED, values);
  }

  onChanged(listener: (values: SignalUpdate[]) => void): () => void {
    this.emitter.on(SIGNALS_CHANGED, listener);
    return () => this.emitter.off(SIGNALS_CHANGED, listener);
  }
}
