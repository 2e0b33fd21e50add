import { Injectable } from '@nestjs/common';
import type { GrantsMessage } from '@stepgate/protocol';
import { EventEmitter } from 'node:events';

/**
 * In-process notice that grants were issued or revoked; the agent gateway listens and
 * broadcasts through its namespace (and so, via the Redis adapter, to every replica's agents).
 * An event instead of a call keeps grants free of the gateway, which needs grants on connect.
 */
@Injectable()
export class GrantEvents {
  private readonly emitter = new EventEmitter();

  emitChange(message: GrantsMessage): void {
    this.emitter.emit('change', message);
  }

  onChange(listener: (message: GrantsMessage) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
