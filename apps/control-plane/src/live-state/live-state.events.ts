import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { LiveStateChangeKind } from './live-state.repository.js';

/** A committed change of the live state: everything the gateway needs to push its bundle. */
export interface LiveStateChange {
  kind: LiveStateChangeKind;
  revision: number;
  /** The version now active (activate, rollback) or shadow (shadow_set); null for shadow_clear. */
  versionId: string | null;
  /** Whether the active version at this revision got there by a rollback. */
  rollback: boolean;
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
