import {
  exceedsMaxChanged,
  formatMaxChanged,
  type ActivationSettings,
  type CompiledPolicySet,
} from '@stepgate/policy';
import {
  REPLAY_SUMMARY_CHANGES,
  type ActivationHeld,
  type ReplayResult,
  type VersionReplaySummary,
} from '@stepgate/protocol';

/** Who requests the replay the sync runs of every new ready version (its origin marker). */
export const SYNC_REPLAY_ACTOR = 'sync';
/** The window of that replay: the 24 h before the version was recorded. */
export const SYNC_REPLAY_WINDOW_MS = 24 * 3600 * 1000;

/** The replay row fields a summary reads. */
export interface ReplayRowOfVersion {
  id: string;
  status: string;
  since: Date;
  until: Date;
  result: unknown;
  error: string | null;
}

export function replaySummary(row: ReplayRowOfVersion): VersionReplaySummary {
  const result = row.status === 'done' ? (row.result as ReplayResult | null) : null;
  return {
    id: row.id,
    status: row.status as VersionReplaySummary['status'],
    since: row.since.toISOString(),
    until: row.until.toISOString(),
    totals: result?.totals ?? null,
    changes: (result?.changes ?? [])
      .slice(0, REPLAY_SUMMARY_CHANGES)
      .map(({ change, count }) => ({ change, count })),
    error: row.error,
  };
}

/** The activation gate a version declares in its stepgate.yaml, if any. */
export function activationGateOf(policySet: unknown): ActivationSettings | undefined {
  return (policySet as CompiledPolicySet | null)?.settings?.activation;
}

/**
 * Why the gate holds a version with this replay, or null when it lets it through. The share is
 * of the replayed decisions (records that could not be replayed faithfully change nothing we
 * know of, and are reported apart). A replay that failed, was cancelled or has not finished
 * holds: a careful operator does not let a version of unknown impact go live by itself.
 */
export function activationHold(
  gate: ActivationSettings | undefined,
  replay: VersionReplaySummary | null,
): ActivationHeld | null {
  if (!gate) return null;
  const limit = formatMaxChanged(gate.maxChanged);
  const unknown = (reason: string): ActivationHeld => ({
    reason,
    changed: null,
    total: null,
    limit,
  });
  if (replay === null) return unknown('its replay could not be started, so its impact is unknown');
  if (replay.status === 'queued' || replay.status === 'running')
    return unknown('its replay has not finished; auto-activation waits for its impact');
  if (replay.status !== 'done' || replay.totals === null)
    return unknown(
      `its replay ${replay.status}${replay.error ? ` (${replay.error})` : ''}, so its impact is unknown`,
    );
  const { changed, replayed } = replay.totals;
  if (!exceedsMaxChanged(gate.maxChanged, changed, replayed)) return null;
  return {
    reason: `its replay changes ${changed} of ${replayed} decisions, more than activation.maxChanged ${limit}`,
    changed,
    total: replayed,
    limit,
  };
}
