import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

export interface LiveStateChange {
  revision: number;
  kind: 'activate' | 'rollback' | 'shadow_set' | 'shadow_clear';
}

/** In-process notification that the active or shadow version changed (the agent gateway listens). */
@Injectable()
export class LiveStateEvents {
  private readonly emitter = new EventEmitter();

  emitChange(change: LiveStateChange): void {
    this.emitter.emit('change', change);
  }

  onChange(listener: (change: LiveStateChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
