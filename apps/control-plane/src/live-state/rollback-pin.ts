/**
 * The rollback target a request was authorised for. The step-up guard decides a plain rollback
 * on the version it would go back to; an activation between the guard and the handler would
 * change that version, so the guard pins it here and the handler rolls back to exactly it.
 */
const pinned = new WeakMap<object, string>();

export function pinRollbackTarget(request: object, versionId: string): void {
  pinned.set(request, versionId);
}

/** The pinned version id, or undefined when the guard found no earlier version. */
export function pinnedRollbackTarget(request: object): string | undefined {
  return pinned.get(request);
}
