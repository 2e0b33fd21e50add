import type { LiveData } from '@stepgate/policy';

const KEPT = 32;

/**
 * The live documents as of a data revision, rebuilt from the write history once per revision
 * (a replay's records mostly share a few revisions) and kept for the last KEPT revisions.
 */
export class LiveDataAt {
  private readonly cache = new Map<number, Promise<LiveData>>();

  constructor(private readonly load: (revision: number) => Promise<Record<string, unknown>>) {}

  /** Undefined for a record made without live data (the documents' defaults apply). */
  at(revision: number | null): Promise<LiveData> | undefined {
    if (revision === null || revision <= 0) return undefined;
    let live = this.cache.get(revision);
    if (live === undefined) {
      if (this.cache.size >= KEPT) this.cache.delete(this.cache.keys().next().value as number);
      live = this.load(revision).then((documents) => ({ revision, documents }));
      // A failed load is not kept: the replay fails, and a retry loads again.
      live.catch(() => this.cache.delete(revision));
      this.cache.set(revision, live);
    }
    return live;
  }
}
