import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';

import type { BundleSigningKey } from './bundle.js';
import { StepgateError } from './errors.js';
import type { GrantsMessage } from './grants.js';
import { signStatement, verifyStatement } from './signed-statement.js';
import { signalValueSchema, type SignalsMessage } from './signals.js';

/**
 * The WebSocket protocol between agents and the control plane (socket.io, namespace
 * `/agents`). Both sides validate every message with these schemas; events are emitted only
 * through the typed maps below.
 */

export const AGENT_NAMESPACE = '/agents';

/** Labels are `k=v` pairs (`STEPGATE_AGENT_LABELS=env=prod,team=payments`). */
export const agentLabelsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_./-]{1,63}$/),
  z.string().max(63),
);

/** An agent's id (`STEPGATE_AGENT_ID`, or generated once and kept in its cache dir). */
export const agentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'agent ids are 1-128 letters, digits, "_", ".", ":" or "-"');

/**
 * A fleet token's agent-id prefix (`POST /v1/tokens {"agentIdPrefix": "node-"}`): the token
 * admits any agent id that starts with it and is longer. Same characters as agent ids, at most
 * 127 of them so at least one is left for the rest of an id.
 */
export const agentIdPrefixSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_.:-]{1,127}$/,
    'agentIdPrefix must be 1-127 letters, digits, "_", ".", ":" or "-" (the start of the agent ids it admits, e.g. "node-")',
  );

/** What an agent sends in `handshake.auth`. */
export const agentHandshakeSchema = z.strictObject({
  token: z.string().min(1).max(512),
  /** Bound to the token: the first id a token connects as (or was created for) is its only one. */
  agentId: agentIdSchema,
  labels: agentLabelsSchema.default({}),
  /** The revisions the agent holds (verified, on disk), per kind; absent = none. */
  revisions: z
    .strictObject({ active: z.int().min(0).optional(), shadow: z.int().min(0).optional() })
    .default({}),
  agentVersion: z.string().max(64).optional(),
  /**
   * The live-data revision the agent holds (verified, on disk); 0 = none. Optional so agents
   * from before live data still connect.
   */
  dataRevision: z.int().min(0).default(0),
});
export type AgentHandshake = z.infer<typeof agentHandshakeSchema>;

/** A signed bundle pushed to an agent: `jws` is what `verifyBundle` checks. */
export const bundleMessageSchema = z.strictObject({
  kind: z.enum(['active', 'shadow']),
  revision: z.int().min(1),
  jws: z.string().min(1),
});
export type BundleMessage = z.infer<typeof bundleMessageSchema>;

/**
 * The shadow version was removed. `jws` is the control plane's signed statement of it (see
 * {@link signShadowCleared}); agents act on the signed revision only, so a forged clear cannot
 * stop a dry-run comparison or, with a far-future revision, refuse every later shadow.
 */
export const shadowClearedMessageSchema = z.strictObject({
  revision: z.int().min(1),
  jws: z.string().min(1).max(4096),
});
export type ShadowClearedMessage = z.infer<typeof shadowClearedMessageSchema>;

export const SHADOW_CLEARED_FORMAT = 'stepgate.shadow-cleared/v1';
/** JWS `typ` of a signed shadow clear. */
export const SHADOW_CLEARED_JWS_TYPE = 'stepgate-shadow-cleared+jws';

const shadowClearedStatementSchema = z.strictObject({
  format: z.literal(SHADOW_CLEARED_FORMAT),
  revision: z.int().min(1),
  issuedAt: z.iso.datetime({ offset: true }),
});

/** Signs the statement that the shadow was cleared at `revision`; returns the wire message. */
export async function signShadowCleared(
  revision: number,
  key: BundleSigningKey,
  issuedAt: Date = new Date(),
): Promise<ShadowClearedMessage> {
  const statement = shadowClearedStatementSchema.parse({
    format: SHADOW_CLEARED_FORMAT,
    revision,
    issuedAt: issuedAt.toISOString(),
  });
  return { revision, jws: await signStatement(SHADOW_CLEARED_JWS_TYPE, statement, key) };
}

/**
 * Verifies a shadow clear with the trusted bundle-signing keys; returns the signed revision.
 * @throws StepgateError `bundle/invalid` when unsigned, forged, or announced under another revision.
 */
export async function verifyShadowCleared(
  message: ShadowClearedMessage,
  keys: JSONWebKeySet,
): Promise<number> {
  const { payload } = await verifyStatement(message.jws, keys, {
    typ: SHADOW_CLEARED_JWS_TYPE,
    schema: shadowClearedStatementSchema,
    refuse: (text, details) =>
      new StepgateError('bundle/invalid', `shadow clear refused: ${text}`, details),
  });
  if (payload.revision !== message.revision)
    throw new StepgateError(
      'bundle/invalid',
      `shadow clear refused: announced as revision ${message.revision}, signed as ${payload.revision}`,
    );
  return payload.revision;
}

/**
 * The bundle-signing public keys (a JWKS, sent on connect and with every pushed bundle) plus
 * the endorsements that chain rotated keys to earlier ones. Agents pin only keys an endorsement
 * from a trusted key vouches for (the list itself is a hint); entries are checked one by one,
 * so one bad entry does not hide the others.
 */
export const keysMessageSchema = z.object({
  keys: z.array(z.unknown()).max(100),
  endorsements: z.array(z.unknown()).max(100).optional(),
});
export interface KeysMessage {
  keys: Record<string, unknown>[];
  /** JWS typ `stepgate-keys+jws`, oldest rotation first. */
  endorsements?: string[];
}

/** The agent applied (verified and swapped in) a bundle. */
export const bundleAckSchema = z.strictObject({
  kind: z.enum(['active', 'shadow']),
  revision: z.int().min(1),
  appliedAt: z.iso.datetime(),
});
export type BundleAck = z.infer<typeof bundleAckSchema>;

/** The agent refused a bundle (bad signature, older revision...), reported for the fleet view. */
export const bundleRejectedSchema = z.strictObject({
  kind: z.enum(['active', 'shadow']),
  revision: z.int().min(0),
  reason: z.string().max(500),
});
export type BundleRejected = z.infer<typeof bundleRejectedSchema>;

const reasonRecord = z.strictObject({
  policy: z.string(),
  rule: z.string(),
  effect: z.enum(['allow', 'deny', 'step_up']),
});

/**
 * The version of what a decision record keeps for a replay (its `replay` field): the verified
 * evidence and the masked paths, beside the input, data revision, signals and `at` (the
 * evaluation time). A record without it was written before and is reported as not replayable.
 */
export const REPLAY_RECORD_VERSION = 1;

/** Limits of the evidence a record keeps; the agent clips to them so a batch is never refused. */
export const RECORD_EVIDENCE_LIMITS = { text: 512, items: 100 } as const;

const recordText = z.string().max(RECORD_EVIDENCE_LIMITS.text);
const recordList = z.array(recordText).max(RECORD_EVIDENCE_LIMITS.items);

/**
 * What a replay needs beside the input: the verified evidence the decision was made with (a
 * grant's, when one applied: its id is in `grants`), never a token; and the masked paths the
 * request had (a replay cannot decide on them).
 */
export const decisionReplaySchema = z.strictObject({
  version: z.int().min(1),
  evidence: z
    .strictObject({
      level: recordText.optional(),
      acr: recordText.optional(),
      amr: recordList.optional(),
      /** ISO time of the authentication. */
      authTime: z.string().max(64).optional(),
      approvals: recordList.optional(),
      grants: recordList.optional(),
    })
    .optional(),
  masked: recordList.optional(),
});
export type DecisionReplay = z.infer<typeof decisionReplaySchema>;

/**
 * One decision as logged: the input after the bundle's masking, and the verified evidence it
 * used (level, time, approvals, grant ids; never a token). `at` is the evaluation time (`now`).
 */
export const decisionRecordSchema = z.strictObject({
  decisionId: z.string().min(1).max(64),
  at: z.iso.datetime(),
  revision: z.int().min(0),
  effect: z.enum(['allow', 'deny', 'step_up']),
  /** Why the agent decided without the policies (fail mode), when it did. */
  failReason: z.enum(['no_bundle', 'stale_bundle']).optional(),
  require: z
    .strictObject({
      level: z.string().optional(),
      maxAge: z.number().optional(),
      approvals: z.int().optional(),
    })
    .optional(),
  reasons: z.array(reasonRecord).max(200),
  principal: z.string().max(512),
  action: z.string().max(512),
  resource: z.strictObject({ kind: z.string().max(512), id: z.string().max(2048) }),
  input: z.record(z.string(), z.unknown()).optional(),
  shadow: z
    .strictObject({
      effect: z.enum(['allow', 'deny', 'step_up']),
      revision: z.int().min(0),
      reasons: z.array(reasonRecord).max(200),
    })
    .optional(),
  errors: z.int().min(0).optional(),
  /** The live-data revision the decision read (absent: none held, or an agent from before). */
  dataRevision: z.int().min(0).optional(),
  /**
   * The principal's risk-signal values the decision read, by name (absent: the bundle declares
   * no signals, or an agent from before). Zero values are listed too: what was read, exactly.
   */
  signals: z.record(z.string().max(63), signalValueSchema).optional(),
  /** What a replay needs beyond the rest (absent: an agent from before replay). */
  replay: decisionReplaySchema.optional(),
  durationNs: z.int().min(0),
});
export type DecisionRecord = z.infer<typeof decisionRecordSchema>;

export const MAX_LOG_BATCH = 1000;

/** A batch of decision records; the control plane acks it once queued for ingest. */
export const logBatchSchema = z.strictObject({
  batchId: z.string().min(1).max(64),
  records: z.array(decisionRecordSchema).max(MAX_LOG_BATCH),
  /** Records the agent dropped (buffer full) since its last acked batch. */
  dropped: z.int().min(0),
});
export type LogBatch = z.infer<typeof logBatchSchema>;

export interface LogBatchAck {
  ok: boolean;
  error?: string;
}

/** Control plane -> agent events. */
export interface ServerToAgentEvents {
  bundle: (message: BundleMessage) => void;
  'shadow:cleared': (message: ShadowClearedMessage) => void;
  /** The bundle-signing public keys and their endorsements, sent on connect and with bundles. */
  keys: (message: KeysMessage) => void;
  /** Grants to honour and grants revoked; the full set on connect. */
  grants: (message: GrantsMessage) => void;
  /** Live documents changed (a delta) or all of them (`fromRevision` 0, a snapshot). */
  data: (message: DataMessage) => void;
  /** Per-subject risk-signal values that changed, or all of them (a snapshot, on connect). */
  signals: (message: SignalsMessage) => void;
}

/** Agent -> control plane events. */
export interface AgentToServerEvents {
  'bundle:ack': (ack: BundleAck) => void;
  'bundle:rejected': (rejected: BundleRejected) => void;
  logs: (batch: LogBatch, ack: (result: LogBatchAck) => void) => void;
  /** The agent persisted live data up to this revision. */
  'data:ack': (ack: DataAck) => void;
  /** The agent could not apply a data message (a gap): send what changed since `revision`. */
  'data:resync': (request: DataResync) => void;
}

/** `format` of a signed live-data message. */
export const DATA_FORMAT = 'stepgate.data/v1';
/** JWS `typ` of a signed live-data message. */
export const DATA_JWS_TYPE = 'stepgate-data+jws';
/** A live-data message is whole documents; socket.io's limit here is 16 MiB. */
const MAX_DATA_JWS = 12 * 1024 * 1024;

/**
 * The signed content of a live-data message: the whole value of every document changed after
 * `fromRevision`, as of `revision` (a deleted document carries its default). `fromRevision` 0
 * is a snapshot: every document there is, replacing what the agent held.
 */
export const dataPayloadSchema = z
  .strictObject({
    format: z.literal(DATA_FORMAT),
    fromRevision: z.int().min(0),
    revision: z.int().min(1),
    documents: z.record(
      z
        .string()
        .regex(/^[a-z][a-z0-9_]*$/)
        .max(64),
      z.unknown(),
    ),
    issuedAt: z.iso.datetime({ offset: true }),
    /** The active bundle revision the control plane filtered the documents with. */
    bundleRevision: z.int().min(0),
  })
  .refine((payload) => payload.fromRevision < payload.revision, {
    message: 'fromRevision must be below revision',
    path: ['fromRevision'],
  });
export type DataPayload = z.infer<typeof dataPayloadSchema>;

/** A live-data message on the wire: `jws` is what {@link verifyDataMessage} checks. */
export const dataMessageSchema = z.strictObject({
  revision: z.int().min(1),
  jws: z.string().min(1).max(MAX_DATA_JWS),
});
export type DataMessage = z.infer<typeof dataMessageSchema>;

/** The agent persisted live data up to `revision`. */
export const dataAckSchema = z.strictObject({ revision: z.int().min(0) });
export type DataAck = z.infer<typeof dataAckSchema>;

/** The agent holds `revision` and needs what changed since (0: a snapshot). */
export const dataResyncSchema = z.strictObject({ revision: z.int().min(0) });
export type DataResync = z.infer<typeof dataResyncSchema>;

/** Signs a live-data payload; returns the wire message. */
export async function signDataMessage(
  payload: Omit<DataPayload, 'format' | 'issuedAt'>,
  key: BundleSigningKey,
  issuedAt: Date = new Date(),
): Promise<DataMessage> {
  const statement = dataPayloadSchema.parse({
    format: DATA_FORMAT,
    ...payload,
    issuedAt: issuedAt.toISOString(),
  });
  return {
    revision: statement.revision,
    jws: await signStatement(DATA_JWS_TYPE, statement, key),
  };
}

/**
 * Verifies a live-data message with the trusted bundle-signing keys; returns its payload.
 * Whether it applies to what the agent holds is {@link dataApplies}.
 * @throws StepgateError `bundle/invalid` (as a refused shadow clear) when unsigned, forged, malformed or relabelled.
 */
export async function verifyDataMessage(
  message: DataMessage,
  keys: JSONWebKeySet,
): Promise<DataPayload> {
  const { payload } = await verifyStatement(message.jws, keys, {
    typ: DATA_JWS_TYPE,
    schema: dataPayloadSchema,
    refuse: (text, details) =>
      new StepgateError('bundle/invalid', `live data refused: ${text}`, details),
  });
  if (payload.revision !== message.revision)
    throw new StepgateError(
      'bundle/invalid',
      `live data refused: announced as revision ${message.revision}, signed as ${payload.revision}`,
    );
  return payload;
}

/**
 * The ordering rule: a message applies when it starts at or before the revision held and
 * ends past it (`fromRevision <= held < revision`). Whole documents make a message that
 * overlaps what the agent holds safe to apply again. At or below `held` it is a `duplicate`
 * (a replay or a late copy: nothing to do); starting past `held` it is a `gap` (the agent
 * asks for what changed since `held`).
 */
export function dataApplies(
  held: number,
  payload: Pick<DataPayload, 'fromRevision' | 'revision'>,
): 'apply' | 'duplicate' | 'gap' {
  if (payload.revision <= held) return 'duplicate';
  if (payload.fromRevision > held) return 'gap';
  return 'apply';
}

/** `env=prod,team=payments` -> `{env: 'prod', team: 'payments'}`; throws on a malformed pair. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`label "${pair}" is not k=v`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  const parsed = agentLabelsSchema.safeParse(labels);
  if (!parsed.success)
    throw new Error(`invalid labels: ${parsed.error.issues[0]?.message ?? 'bad label'}`);
  return parsed.data;
}
