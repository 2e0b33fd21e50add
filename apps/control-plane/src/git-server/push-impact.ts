import type { ActivationHeld, VersionReplaySummary } from '@stepgate/protocol';

const PREFIX = 'stepgate:';

/** What the push report knows of a pushed version's impact when its wait ends. */
export interface PushImpact {
  /** The version number, once the sync has recorded it. */
  version?: number;
  replay: VersionReplaySummary | null;
  activationHeld: ActivationHeld | null;
}

/**
 * The impact lines of a pushed commit: the replay's changes when it is done, else the command
 * to see them later; and, when the activation gate holds the version, why and how to go on.
 */
export function impactLines(short: string, impact: PushImpact): string[] {
  const ref = impact.version === undefined ? short : String(impact.version);
  const name = impact.version === undefined ? short : `version ${impact.version}`;
  const { replay, activationHeld: held } = impact;
  const lines: string[] = [];
  if (replay?.status === 'done' && replay.totals) {
    const { changed, replayed, notReplayable } = replay.totals;
    lines.push(
      `${PREFIX} ${name} replayed against the last 24 h: ${changed} of ${replayed} decisions change` +
        (notReplayable > 0 ? ` (${notReplayable} not replayable)` : ''),
    );
    for (const { change, count } of replay.changes) lines.push(`${PREFIX}   ${change}  ${count}`);
    if (changed > 0) lines.push(`${PREFIX}   details: stepgate replay ${ref}`);
  } else if (replay?.status === 'failed' || replay?.status === 'cancelled') {
    lines.push(`${PREFIX} the replay of ${name} ${replay.status}; see stepgate versions ${ref}`);
  } else {
    lines.push(
      `${PREFIX} the impact of ${name} on the last 24 h is not ready yet; see it with: stepgate versions ${ref}`,
    );
  }
  // A hold is only final once the replay has ended; while it runs the sync is still deciding.
  const ended = replay !== null && replay.status !== 'queued' && replay.status !== 'running';
  if (held && ended)
    lines.push(
      `${PREFIX} ${name} is NOT activated: the activation gate holds it (${held.reason});`,
      `${PREFIX}   to activate it anyway: stepgate activate ${ref} --reason '<why>'`,
    );
  return lines;
}
