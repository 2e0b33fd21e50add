import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** The event a committed live-data write emits (in-process), for the agent gateway to push. */
export const LIVE_DATA_CHANGED = 'live-data.changed';

/** A committed write: the data revision it made and the documents it changed. */
export interface LiveDataChanged {
  revision: number;
  names: string[];
}

/** In-process notification of committed live-data writes (the agent gateway listens). */
@Injectable()
export class LiveDataEvents {
  private readonly emitter = new EventEmitter();

  emitChanged(change: LiveDataChanged): void {
    this.emitter.emit(LIVE_DATA_CHANGED, change);
  }

  onChanged(listener: (change: LiveDataChanged) => void): () => void {
    this.emitter.on(LIVE_DATA_CHANGED, listener);
    return () => this.emitter.off(LIVE_DATA_CHANGED, listener);
  }
}
