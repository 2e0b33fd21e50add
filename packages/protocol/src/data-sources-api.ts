import { z } from 'zod';

/**
 * `GET /v1/data-sources`: the data sources the active version declares (`dataSources:` in
 * stepgate.yaml) and how their fetches go, whichever replica ran them.
 */
export const dataSourceStatusSchema = z.object({
  /** The live data document it feeds. */
  name: z.string(),
  /** The URL without its query string (which may hold a key). */
  url: z.string(),
  /** Seconds between fetches. */
  every: z.number(),
  format: z.enum(['json', 'lines', 'csv']),
  /** ok: the last fetch succeeded; failing: it failed (the last good value is served); pending: not fetched yet. */
  status: z.enum(['ok', 'failing', 'pending']),
  lastFetchAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  consecutiveFailures: z.int(),
});
export type DataSourceStatus = z.infer<typeof dataSourceStatusSchema>;

export const dataSourceListResponseSchema = z.object({
  sources: z.array(dataSourceStatusSchema),
});
export type DataSourceListResponse = z.infer<typeof dataSourceListResponseSchema>;
