/**
 * Whether a revision was ever issued by this control plane. Revisions are one sequence for both
 * kinds (ActiveState.revision, bumped in the same transaction as each Activation row), and every
 * bundle of either kind carries the revision current when it was built, so a revision was
 * issued exactly when it is in 1..live revision. 0 (or none) means the agent holds nothing.
 */
export function wasIssued(revision: number, liveRevision: number): boolean {
  return revision >= 1 && revision <= liveRevision;
}

/** A revision an agent reports holding that this control plane never issued. */
export function isUnknownRevision(revision: number | null | undefined, liveRevision: number) {
  return (
    revision !== null &&
    revision !== undefined &&
    revision !== 0 &&
    !wasIssued(revision, liveRevision)
  );
}
