/**
 * Which declared signals each event feeds, and with what member: the input of the aggregation
 * script. Pure, so the rules (events no signal reads, fields `last`/`distinct` read) are tested
 * without Redis.
 */
import { randomUUID } from 'node:crypto';
import type { SignalAggregate, SignalDeclaration } from '@stepgate/policy';
import type { SignalEvent } from '@stepgate/protocol';
import { invalid } from './events-body.js';

/** The longest string a `last` value may be (the wire's signal value limit). */
const MAX_STRING_VALUE = 1024;

/** One signal an event feeds. */
export interface SignalFeed {
  /** Signal name. */
  n: string;
  /** Aggregate. */
  a: SignalAggregate;
  /** Window in milliseconds. */
  w: number;
  /**
   * Sorted-set member: the event's deduplication key or a random id (count, exists), or its
   * field's value as JSON (last, distinct).
   */
  m: string;
}

/** An event as the aggregation script takes it. */
export interface PlannedEvent {
  /** Subject. */
  s: string;
  /** Time, epoch ms. */
  t: number;
  /** Deduplication key (a hash of the event's id), when it has one. */
  id?: string;
  u: SignalFeed[];
}

/** Declared signals by the event type they read. */
export function signalsByEvent(
  signals: Record<string, SignalDeclaration>,
): Map<string, [string, SignalDeclaration][]> {
  const byEvent = new Map<string, [string, SignalDeclaration][]>();
  for (const [name, declaration] of Object.entries(signals)) {
    const list = byEvent.get(declaration.event) ?? [];
    list.push([name, declaration]);
    byEvent.set(declaration.event, list);
  }
  return byEvent;
}

/**
 * The events some declared signal reads, with what each feeds. An event no signal reads is left
 * out (accepted and dropped). A field `last` or `distinct` reads must hold a string, number,
 * boolean or null; an event without the field feeds neither.
 * @param dedupeKey maps an event id to the key it is remembered by.
 * @throws StepgateError 400 naming the first event whose field cannot be a signal value.
 */
export function planEvents(
  events: readonly SignalEvent[],
  signals: Record<string, SignalDeclaration>,
  dedupeKey: (id: string) => string,
): PlannedEvent[] {
  const byEvent = signalsByEvent(signals);
  const planned: PlannedEvent[] = [];
  events.forEach((event, index) => {
    const readers = byEvent.get(event.type);
    if (!readers) return;
    // The id's hash, not the id: ids are caller-chosen (up to 1 KiB), members are kept per event.
    const key = event.id === undefined ? undefined : dedupeKey(event.id);
    const member = key ?? randomUUID();
    const feeds: SignalFeed[] = [];
    for (const [name, declaration] of readers) {
      const w = declaration.window * 1000;
      if (declaration.aggregate === 'count' || declaration.aggregate === 'exists') {
        feeds.push({ n: name, a: declaration.aggregate, w, m: member });
        continue;
      }
      const field = declaration.field;
      if (field === undefined || !Object.hasOwn(event.data, field)) continue;
      const value = event.data[field];
      const problem = notASignalValue(value);
      if (problem !== undefined) {
        const path = `events[${index}].data.${field}`;
        const message = `signal "${name}" (${declaration.aggregate}) reads this field: ${problem}`;
        throw invalid(`${path}: ${message}; nothing was ingested`, [{ path, message }]);
      }
      feeds.push({ n: name, a: declaration.aggregate, w, m: JSON.stringify(value) });
    }
    if (feeds.length === 0) return;
    const entry: PlannedEvent = { s: event.subject, t: event.time, u: feeds };
    if (key !== undefined) entry.id = key;
    planned.push(entry);
  });
  return planned;
}

function notASignalValue(value: unknown): string | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'it must be a finite number';
  if (typeof value === 'string')
    return value.length <= MAX_STRING_VALUE
      ? undefined
      : `a string of at most ${MAX_STRING_VALUE} characters (got ${value.length})`;
  return 'it must be a string, number, boolean or null, not an object or array';
}
