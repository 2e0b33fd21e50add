import { z } from 'zod';

/** How many from -> to changes a version's replay summary lists (the full report: the replay). */
export const REPLAY_SUMMARY_CHANGES = 5;

/**
 * A version's impact: the replay the sync ran of it over the 24 h before it was recorded (the
 * full report is `GET /v1/replays/<id>`). Totals and changes are null until the replay is done.
 */
export const versionReplaySummarySchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
  totals: z
    .object({
      records: z.int(),
      replayed: z.int(),
      changed: z.int(),
      notReplayable: z.int(),
    })
    .nullable(),
  /** The largest from -> to changes (`allow -> step_up`), at most REPLAY_SUMMARY_CHANGES. */
  changes: z.array(z.object({ change: z.string(), count: z.int() })),
  error: z.string().nullable(),
});
export type VersionReplaySummary = z.infer<typeof versionReplaySummarySchema>;

/**
 * Why the activation gate (`activation.maxChanged` in stepgate.yaml) keeps a ready version from
 * being auto-activated: its replay changed more than the limit, failed, or has not finished.
 * `changed` and `total` (replayed decisions) are null when the replay has no result.
 */
export const activationHeldSchema = z.object({
  reason: z.string(),
  changed: z.int().nullable(),
  total: z.int().nullable(),
  /** The gate as written: `1%` or a count. */
  limit: z.string(),
});
export type ActivationHeld = z.infer<typeof activationHeldSchema>;
