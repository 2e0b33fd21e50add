import { Injectable } from '@nestjs/common';
import type { GrantsMessage } from '@stepgate/protocol';
import { EventEmitter } from 'node:events';

/** Grants issued or revoked, unsigned: the gateway signs the removals before agents see them. */
export type GrantChange = Omit<GrantsMessage, 'revocation'>;

/**
 * In-process notice that grants were issued or revoked; the agent gateway listens, signs what
 * it removes, and broadcasts through its namespace (and so, via the Redis adapter, to every
 * replica's agents). An event instead of a call keeps grants free of the gateway, which needs
 * grants on connect.
 */
@Injectable()
export class GrantEvents {
  private readonly emitter = new EventEmitter();

  emitChange(message: GrantChange): void {
    this.emitter.emit('change', message);
  }

  onChange(listener: (message: GrantChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
