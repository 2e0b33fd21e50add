import { z } from 'zod';

import type { JSONWebKeySet } from 'jose';
import type { BundleSigningKey } from './bundle.js';
import { StepgateError } from './errors.js';
import { signStatement, verifyStatement } from './signed-statement.js';

/**
 * Risk signals: the events the control plane ingests (`POST /v1/events`), the per-subject
 * values it aggregates from them (`GET /v1/signals/{subject}`), and the signed messages that
 * carry changed values to agents (`signals` on the agent socket).
 */

// ---------------------------------------------------------------------------------------------
// Ingest: POST /v1/events
// ---------------------------------------------------------------------------------------------

/** Most events in one request (a JSON array or a CloudEvents batch). */
export const EVENTS_MAX_BATCH = 1000;
/** The largest ingest body read (413 past it). */
export const EVENTS_MAX_BODY_BYTES = 1024 * 1024;
/** Content types `POST /v1/events` accepts. */
export const EVENTS_CONTENT_TYPES = [
  'application/json',
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
] as const;

/** Whom an event is about: the principal id policies see as `principal.id`. */
export const signalSubjectSchema = z
  .string()
  .min(1, 'subject must not be empty')
  .max(512, 'subject is at most 512 characters');

const eventType = z.string().min(1).max(256);
const eventTime = z.iso.datetime({ offset: true });
const eventId = z.string().min(1).max(256);
/** The attributes `last` and `distinct` read (`field` names a key of `data`). */
const eventData = z.record(z.string(), z.unknown());

/**
 * A plain event: `{type, subject, time?, id?, data?}`. `time` defaults to when it arrives; `id`
 * makes a retried post count once (the same id within the longest window is a duplicate).
 * `attributes` is another name for `data` (the one the design's API table uses); not both.
 */
export const plainEventSchema = z
  .strictObject({
    type: eventType,
    subject: signalSubjectSchema,
    time: eventTime.optional(),
    id: eventId.optional(),
    data: eventData.optional(),
    attributes: eventData.optional(),
  })
  .refine((event) => event.data === undefined || event.attributes === undefined, {
    message: 'send the attributes as data or as attributes, not both',
    path: ['attributes'],
  });
export type PlainEvent = z.infer<typeof plainEventSchema>;

/**
 * A CloudEvents 1.0 event in structured mode. `subject` is required here (it names the
 * principal); extension attributes are allowed, as the spec says; `data` must be a JSON object
 * (`data_base64` cannot carry the attributes signals read).
 */
export const cloudEventSchema = z
  .looseObject({
    specversion: z.literal('1.0', { error: 'specversion must be "1.0" (CloudEvents 1.0)' }),
    id: eventId,
    source: z.string().min(1).max(1024),
    type: eventType,
    subject: signalSubjectSchema,
    time: eventTime.optional(),
    datacontenttype: z.string().max(256).optional(),
    dataschema: z.string().max(1024).optional(),
    data: eventData.optional(),
  })
  .refine((event) => !('data_base64' in event), {
    message: 'data_base64 is not accepted: send data as a JSON object',
    path: ['data_base64'],
  });
export type CloudEvent = z.infer<typeof cloudEventSchema>;

/** An event as the aggregator takes it, whichever form it arrived in. */
export interface SignalEvent {
  type: string;
  subject: string;
  /** Epoch milliseconds. */
  time: number;
  /** Deduplication key: the event's id, `source` + `id` for a CloudEvent. Absent: never a duplicate. */
  id?: string;
  data: Record<string, unknown>;
}

/** What `POST /v1/events` did. */
export const eventsIngestResponseSchema = z.object({
  /** Events taken (including those no signal reads). */
  accepted: z.int(),
  /** Events already seen (same id): not counted again. */
  duplicates: z.int(),
  /** Per-subject signal values that changed, and were pushed to agents. */
  updated: z.int(),
});
export type EventsIngestResponse = z.infer<typeof eventsIngestResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Inspection: GET /v1/signals/{subject}
// ---------------------------------------------------------------------------------------------

/** The JSON values a signal takes: an int (count, distinct), a bool (exists), a field (last). */
export const signalValueSchema = z.union([z.number(), z.string().max(1024), z.boolean(), z.null()]);
export type SignalValueJson = z.infer<typeof signalValueSchema>;

export const subjectSignalSchema = z.object({
  event: z.string(),
  aggregate: z.enum(['count', 'exists', 'last', 'distinct']),
  /** The window in whole seconds. */
  window: z.int(),
  field: z.string().optional(),
  /** The value conditions read now (the zero value when no event is in the window). */
  value: signalValueSchema,
  /** When the value falls back to zero if no further event arrives; null when it is zero. */
  expiresAt: z.string().nullable(),
});

/** `GET /v1/signals/{subject}`: every signal the active version declares, for one subject. */
export const subjectSignalsResponseSchema = z.object({
  subject: z.string(),
  at: z.string(),
  signals: z.record(z.string(), subjectSignalSchema),
});
export type SubjectSignalsResponse = z.infer<typeof subjectSignalsResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Agent socket: `signals`
// ---------------------------------------------------------------------------------------------

/** `format` of a signed signals message. */
export const SIGNALS_FORMAT = 'stepgate.signals/v1';
/** JWS `typ` of a signed signals message. */
export const SIGNALS_JWS_TYPE = 'stepgate-signals+jws';
/** Most values in one message (a snapshot of every subject may be split in several). */
export const SIGNALS_MAX_VALUES = 100_000;
const MAX_SIGNALS_JWS = 12 * 1024 * 1024;

/**
 * One subject's value of one signal. `seq` orders values across control-plane replicas: an
 * agent keeps the value with the highest `seq` per (subject, name). Past `expiresAt` (epoch ms)
 * the agent reads the zero value, so an agent cut off from the control plane does not keep a
 * signal forever; a zero value (`expiresAt` in the past) removes what the agent held.
 */
export const signalUpdateSchema = z.strictObject({
  subject: signalSubjectSchema,
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .max(63),
  value: signalValueSchema,
  expiresAt: z.int().min(0),
  seq: z.int().min(1),
});
export type SignalUpdate = z.infer<typeof signalUpdateSchema>;

/**
 * The signed content of a signals message. A `snapshot` is every current value as of `seq` (the
 * highest sequence number issued when it was read): the agent drops what it holds at or below
 * `seq` that the snapshot does not list, and keeps anything newer.
 */
export const signalsPayloadSchema = z.strictObject({
  format: z.literal(SIGNALS_FORMAT),
  snapshot: z.boolean(),
  seq: z.int().min(0),
  values: z.array(signalUpdateSchema).max(SIGNALS_MAX_VALUES),
  issuedAt: z.iso.datetime({ offset: true }),
});
export type SignalsPayload = z.infer<typeof signalsPayloadSchema>;

/** A signals message on the wire: `jws` is what {@link verifySignalsMessage} checks. */
export const signalsMessageSchema = z.strictObject({
  jws: z.string().min(1).max(MAX_SIGNALS_JWS),
});
export type SignalsMessage = z.infer<typeof signalsMessageSchema>;

/** Signs changed (or, as a snapshot, all) signal values; returns the wire message. */
export async function signSignalsMessage(
  payload: Omit<SignalsPayload, 'format' | 'issuedAt'>,
  key: BundleSigningKey,
  issuedAt: Date = new Date(),
): Promise<SignalsMessage> {
  const statement = signalsPayloadSchema.parse({
    format: SIGNALS_FORMAT,
    ...payload,
    issuedAt: issuedAt.toISOString(),
  });
  return { jws: await signStatement(SIGNALS_JWS_TYPE, statement, key) };
}

/**
 * Verifies a signals message with the trusted bundle-signing keys; returns its payload.
 * @throws StepgateError `bundle/invalid` when unsigned, forged or malformed.
 */
export async function verifySignalsMessage(
  message: SignalsMessage,
  keys: JSONWebKeySet,
): Promise<SignalsPayload> {
  const { payload } = await verifyStatement(message.jws, keys, {
    typ: SIGNALS_JWS_TYPE,
    schema: signalsPayloadSchema,
    refuse: (text, details) =>
      new StepgateError('bundle/invalid', `signals refused: ${text}`, details),
  });
  return payload;
}
