import { z } from 'zod';

/**
 * Replay (DESIGN "Shadow mode and replay"): a candidate version re-decides the logged decisions
 * of a time window with what each decision had (masked input, verified evidence, live data at
 * its data revision, signal values, its time) and the report says what would change.
 */

const effect = z.enum(['allow', 'deny', 'step_up']);
const requirement = z.strictObject({
  level: z.string().optional(),
  maxAge: z.number().optional(),
  approvals: z.int().optional(),
});

/** Which decisions to replay, beside the window. */
export const replayFilterSchema = z.strictObject({
  principal: z.string().min(1).max(512).optional(),
  action: z.string().min(1).max(512).optional(),
  effect: effect.optional(),
  agentId: z.string().min(1).max(128).optional(),
});
export type ReplayFilter = z.infer<typeof replayFilterSchema>;

/** The longest window one replay may cover. */
export const MAX_REPLAY_WINDOW_DAYS = 31;

/** `POST /v1/versions/{ref}/replay`: `until` defaults to now; `since` must be before it. */
export const replayRequestSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
    filter: replayFilterSchema.optional(),
    /** Examples kept per group (from -> to, rule, principal, action); 5 unless given. */
    examples: z.int().min(0).max(50).optional(),
  })
  .refine((body) => body.until === undefined || Date.parse(body.since) < Date.parse(body.until), {
    message: 'since must be before until',
    path: ['since'],
  });
export type ReplayRequest = z.infer<typeof replayRequestSchema>;

/**
 * `POST /v1/replays`: a replay with a policy set the caller compiled (`stepgate replay <dir>`),
 * not a version. The set is checked as the control plane reads a stored one (parsePolicySet);
 * it is only replayed: it never becomes a version and never reaches an agent.
 */
export const localReplayRequestSchema = z
  .strictObject({
    /** A compiled policy set (the `policySet` of `compile()`); the whole body is 1 MiB at most. */
    policySet: z.unknown().refine((value) => value !== undefined, { message: 'required' }),
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
    filter: replayFilterSchema.optional(),
    examples: z.int().min(0).max(50).optional(),
  })
  .refine((body) => body.until === undefined || Date.parse(body.since) < Date.parse(body.until), {
    message: 'since must be before until',
    path: ['since'],
  });
export type LocalReplayRequest = z.infer<typeof localReplayRequestSchema>;

export const replayStatusSchema = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type ReplayStatus = z.infer<typeof replayStatusSchema>;

/** Why a record could not be replayed faithfully. */
export const notReplayableReasonSchema = z.enum([
  /** Written by an agent before records kept what a replay needs. */
  'recorded_before_replay',
  /** A masked input field (the agent removed it from the log) is read by a candidate rule. */
  'masked_input_read',
  /** The agent answered by its fail mode (no bundle, stale bundle): no policy decided. */
  'fail_mode',
  /** The candidate could not decide on the recorded input. */
  'evaluation_error',
]);
export type NotReplayableReason = z.infer<typeof notReplayableReasonSchema>;

const verdict = z.strictObject({ effect, require: requirement.nullable() });

/** One decision that changed (or could not be replayed). */
export const replayExampleSchema = z.strictObject({
  decisionId: z.string(),
  at: z.iso.datetime({ offset: true }),
  principal: z.string(),
  action: z.string(),
  resource: z.strictObject({ kind: z.string(), id: z.string() }),
  before: verdict,
  /** Null for a record that was not replayed. */
  after: verdict
    .extend({
      reasons: z.array(z.strictObject({ policy: z.string(), rule: z.string(), effect })),
    })
    .nullable(),
  /** For a masked read: the masked paths the candidate's rules read. */
  masked: z.array(z.string()).optional(),
});
export type ReplayExample = z.infer<typeof replayExampleSchema>;

const group = <T extends z.ZodRawShape>(key: T) =>
  z.strictObject({ ...key, count: z.int(), examples: z.array(replayExampleSchema) });

/**
 * How a decision changed: `allow -> step_up` style for a different effect; for two step-ups,
 * `requirement tightened`, `requirement loosened` or `requirement changed` (stricter in one
 * part, looser in another).
 */
export const replayChangeSchema = group({ change: z.string() });
export const replayRuleGroupSchema = group({ policy: z.string(), rule: z.string() });
export const replayPrincipalGroupSchema = group({ principal: z.string() });
export const replayActionGroupSchema = group({ action: z.string() });
export const replayNotReplayableSchema = group({ reason: notReplayableReasonSchema });

export const replayResultSchema = z.strictObject({
  totals: z.strictObject({
    /** Records read in the window (matching the filter). */
    records: z.int(),
    /** Records decided again by the candidate. */
    replayed: z.int(),
    /** Of those, the decisions whose effect or requirement differs. */
    changed: z.int(),
    notReplayable: z.int(),
  }),
  notReplayable: z.array(replayNotReplayableSchema),
  changes: z.array(replayChangeSchema),
  /**
   * The rules a change is put down to: those in the candidate's reasons and not the recorded
   * ones, or the reverse (a rule that no longer matches), else the candidate's reasons.
   */
  byRule: z.array(replayRuleGroupSchema),
  byPrincipal: z.array(replayPrincipalGroupSchema),
  byAction: z.array(replayActionGroupSchema),
  /** Groups left out of byRule/byPrincipal/byAction past their size limit (counted, not named). */
  truncated: z.boolean(),
});
export type ReplayResult = z.infer<typeof replayResultSchema>;

export const replaySchema = z.strictObject({
  id: z.string(),
  status: replayStatusSchema,
  /** The replayed version; null for a local policy set (POST /v1/replays). */
  version: z.strictObject({ id: z.string(), number: z.int(), sha: z.string() }).nullable(),
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
  filter: replayFilterSchema,
  requestedBy: z.string(),
  progress: z.strictObject({
    /** Records read so far. */
    read: z.int(),
    /** Records in the window when the replay started (an estimate: ingest may add more). */
    estimatedTotal: z.int(),
  }),
  /** Set once done (and kept, partial, when cancelled). */
  result: replayResultSchema.nullable(),
  error: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  finishedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type Replay = z.infer<typeof replaySchema>;

/** The answer to starting a replay (202). */
export const replayStartedSchema = z.strictObject({ id: z.string(), status: replayStatusSchema });
export type ReplayStarted = z.infer<typeof replayStartedSchema>;
