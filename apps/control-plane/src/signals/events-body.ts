/**
 * The body of `POST /v1/events`, read into events the aggregator takes: plain JSON events or
 * CloudEvents 1.0 (structured mode), one or a batch. Validation is all-or-nothing: the first bad
 * item is refused with its index, its field and why, and nothing of the request is taken.
 */
import {
  cloudEventSchema,
  EVENTS_CONTENT_TYPES,
  EVENTS_MAX_BATCH,
  EVENTS_MAX_BODY_BYTES,
  plainEventSchema,
  StepgateError,
  type SignalEvent,
} from '@stepgate/protocol';
import { json } from 'express';
import type { z } from 'zod';

/** How far ahead of the control plane's clock an event's time may be (clock skew). */
export const MAX_FUTURE_MS = 5 * 60_000;

/** One refused item: where (`events[3].subject`) and why, as every 400 of this route lists. */
export interface EventProblem {
  path: string;
  message: string;
}

/**
 * The parser of `/v1/events`, mounted before the global one: it takes the CloudEvents media
 * types too, and bodies up to EVENTS_MAX_BODY_BYTES (413 past it).
 */
export function eventsBodyParser() {
  return json({ limit: EVENTS_MAX_BODY_BYTES, strict: true, type: [...EVENTS_CONTENT_TYPES] });
}

/** The media type without parameters, lower-cased (`''` when absent). */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * The events of a request body, whichever form: `application/json` (one event, an array, or
 * `{"events": [...]}`; an object with `specversion` is a CloudEvent, any other a plain event),
 * `application/cloudevents+json` (one CloudEvent), `application/cloudevents-batch+json` (an
 * array of CloudEvents). `now` (epoch ms) is the time of events that carry none.
 * @throws StepgateError 415 for another content type, 400 naming the first bad item.
 */
export function parseEvents(
  contentType: string | undefined,
  body: unknown,
  now: number,
): SignalEvent[] {
  const type = mediaTypeOf(contentType);
  if (!(EVENTS_CONTENT_TYPES as readonly string[]).includes(type))
    throw new StepgateError(
      'request/invalid',
      `send events as ${EVENTS_CONTENT_TYPES.join(', ')}${type === '' ? ' (no Content-Type was sent)' : `, not ${type}`}`,
      undefined,
      { status: 415 },
    );
  if (body === undefined || body === null || typeof body !== 'object')
    throw invalid(
      'the body is missing or not a JSON object or array: send one event, or an array of events',
    );
  const items = itemsOf(type, body);
  if (items.length > EVENTS_MAX_BATCH)
    throw invalid(
      `${items.length} events in one request; at most ${EVENTS_MAX_BATCH}: split the batch`,
    );
  const cloudOnly = type !== 'application/json';
  return items.map((item, index) => toEvent(item, index, cloudOnly, now));
}

function itemsOf(type: string, body: object): unknown[] {
  if (type === 'application/cloudevents-batch+json') {
    if (!Array.isArray(body))
      throw invalid(
        'a CloudEvents batch (application/cloudevents-batch+json) is a JSON array of events; send one event as application/cloudevents+json',
      );
    return body;
  }
  if (type === 'application/cloudevents+json') {
    if (Array.isArray(body))
      throw invalid(
        'application/cloudevents+json carries one event; send an array as application/cloudevents-batch+json',
      );
    return [body];
  }
  if (Array.isArray(body)) return body;
  // `{"events": [...]}`: the wrapper the API table names. A plain event has a `type`.
  if ('events' in body && !('type' in body)) {
    const keys = Object.keys(body).filter((key) => key !== 'events');
    if (keys.length > 0)
      throw invalid(`unknown field "${keys[0]}" beside "events": send {"events": [...]}`);
    const events = (body as { events: unknown }).events;
    if (!Array.isArray(events)) throw invalid('events must be an array of events');
    return events;
  }
  return [body];
}

function toEvent(item: unknown, index: number, cloudOnly: boolean, now: number): SignalEvent {
  const at = `events[${index}]`;
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw invalid(`${at}: an event is a JSON object`, [{ path: at, message: 'not an object' }]);
  const cloud = cloudOnly || 'specversion' in item;
  const schema: z.ZodType = cloud ? cloudEventSchema : plainEventSchema;
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({
      path: `${at}${pathText(issue.path)}`,
      message: issue.message,
    }));
    const first = problems[0] as EventProblem;
    const what = cloud && !cloudOnly ? ' (a CloudEvent: it has specversion)' : '';
    throw invalid(`${first.path}: ${first.message}${what}; nothing was ingested`, problems);
  }
  const event = parsed.data as {
    type: string;
    subject: string;
    time?: string;
    id?: string;
    source?: string;
    data?: Record<string, unknown>;
    attributes?: Record<string, unknown>;
  };
  let time = now;
  if (event.time !== undefined) {
    time = Date.parse(event.time);
    if (!Number.isFinite(time))
      throw invalid(`${at}.time: not a date-time`, [
        { path: `${at}.time`, message: 'not a date-time' },
      ]);
    if (time > now + MAX_FUTURE_MS) {
      const message = `${event.time} is more than 5 minutes ahead of the control plane's clock (${new Date(now).toISOString()}); check the sender's clock`;
      throw invalid(`${at}.time: ${message}`, [{ path: `${at}.time`, message }]);
    }
  }
  const result: SignalEvent = {
    type: event.type,
    subject: event.subject,
    time,
    data: event.data ?? event.attributes ?? {},
  };
  // CloudEvents: id is unique per source (spec 3.1.1), so both make the key.
  if (event.id !== undefined)
    result.id = cloud ? `ce:${JSON.stringify([event.source, event.id])}` : `id:${event.id}`;
  return result;
}

/** `['data', 'country']` -> `.data.country`; `[0]` -> `[0]`; a key that is no identifier quoted. */
export function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part) =>
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(String(part))
          ? `.${String(part)}`
          : `[${JSON.stringify(String(part))}]`,
    )
    .join('');
}

export function invalid(message: string, details?: EventProblem[]): StepgateError {
  return new StepgateError('request/invalid', message, details);
}
