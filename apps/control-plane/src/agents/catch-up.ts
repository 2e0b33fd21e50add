/** What the control plane currently wants agents to hold. */
export interface LiveRevisions {
  /** ActiveState.revision: bumped by every activation, rollback and shadow change. */
  revision: number;
  /** The revision at which the active version became active (its last activate/rollback). */
  active: { revision: number; versionId: string; activatedAt: Date } | null;
  /** The revision at which the current shadow version was set. */
  shadow: { revision: number; versionId: string } | null;
  /** The revision of the last shadow change (set or clear), for `shadow:cleared`. */
  shadowChangedAt: number | null;
}

export interface CatchUp {
  active: boolean;
  shadow: 'send' | 'clear' | 'none';
}

/**
 * What an agent lacks, given the revisions it announced. The active bundle is re-sent only when
 * the active version changed after the revision the agent holds (a shadow change bumps the shared
 * revision but leaves the active policies alone), and likewise for the shadow.
 */
export function catchUp(held: { active?: number; shadow?: number }, live: LiveRevisions): CatchUp {
  const active = live.active !== null && (held.active ?? 0) < live.active.revision;
  let shadow: CatchUp['shadow'] = 'none';
  if (live.shadow) {
    if ((held.shadow ?? 0) < live.shadow.revision) shadow = 'send';
  } else if (held.shadow !== undefined) {
    shadow = 'clear';
  }
  return { active, shadow };
}
