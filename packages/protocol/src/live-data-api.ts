import { z } from 'zod';

/**
 * The live-data admin API (`/v1/data`): documents declared in `stepgate.yaml` `liveData:` and
 * written through the control plane. Bodies of writes are the values themselves (a merge
 * patch for PATCH, RFC 7396), so the reason every write needs travels in a header.
 */

/** The header that carries a write's reason (percent-encoded UTF-8 is decoded). */
export const LIVE_DATA_REASON_HEADER = 'x-stepgate-reason';

/** The largest write body the control plane reads (413 past it). */
export const LIVE_DATA_MAX_BODY_BYTES = 1024 * 1024;

/** A write's reason as the control plane accepts it, after decoding the header. */
export const liveDataReasonSchema = z.string().trim().min(1).max(1000);

/** What one write did to a document. */
export const LIVE_DATA_OPS = ['put', 'patch', 'delete'] as const;

const isoTime = z.string();

/** A declared document without its value (the list). */
export const liveDocumentSummarySchema = z.object({
  name: z.string(),
  /** The JSON Schema the active version declares for it; every write is validated with it. */
  schema: z.unknown(),
  default: z.unknown(),
  /** Never written (or deleted since): it reads as its default. */
  isDefault: z.boolean(),
  /** The data revision of its last write; null when never written. */
  revision: z.int().nullable(),
  updatedAt: isoTime.nullable(),
  updatedBy: z.string().nullable(),
});
export type LiveDocumentSummary = z.infer<typeof liveDocumentSummarySchema>;

/** `GET /v1/data`: the documents the active version declares, and the data revision now. */
export const liveDataListResponseSchema = z.object({
  revision: z.int(),
  /** The active version that declares them (null while none is active). */
  versionNumber: z.int().nullable(),
  documents: z.array(liveDocumentSummarySchema),
});
export type LiveDataListResponse = z.infer<typeof liveDataListResponseSchema>;

/** `GET /v1/data/{name}`: one document with its value as agents receive it. */
export const liveDocumentResponseSchema = liveDocumentSummarySchema.extend({
  value: z.unknown(),
  /** The data revision now (every document's). */
  dataRevision: z.int(),
});
export type LiveDocumentResponse = z.infer<typeof liveDocumentResponseSchema>;

/** The answer to every write: the new data revision, the value now and what changed. */
export const liveDataWriteResponseSchema = z.object({
  revision: z.int(),
  name: z.string(),
  value: z.unknown(),
  /** JSON Pointers (RFC 6901) of the parts that changed ("" for the whole document). */
  changed: z.array(z.string()),
});
export type LiveDataWriteResponse = z.infer<typeof liveDataWriteResponseSchema>;

export const liveDataChangeSchema = z.object({
  revision: z.int(),
  name: z.string(),
  /** The key of an object document a key write changed; null for whole-document writes. */
  key: z.string().nullable(),
  op: z.enum(LIVE_DATA_OPS),
  before: z.unknown(),
  after: z.unknown(),
  changed: z.array(z.string()),
  actor: z.string(),
  reason: z.string(),
  at: isoTime,
});
export type LiveDataChangeView = z.infer<typeof liveDataChangeSchema>;

export const liveDataHistoryQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Only changes before this data revision: `nextCursor` of the previous page. */
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});
export type LiveDataHistoryQuery = z.infer<typeof liveDataHistoryQuerySchema>;

/** `GET /v1/data/{name}/history`: newest first. */
export const liveDataHistoryResponseSchema = z.object({
  changes: z.array(liveDataChangeSchema),
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextCursor: z.int().nullable(),
});
export type LiveDataHistoryResponse = z.infer<typeof liveDataHistoryResponseSchema>;
