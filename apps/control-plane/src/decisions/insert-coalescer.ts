/**
 * Merges items submitted concurrently into few writes: one write in flight at a time; while it
 * runs, new items wait and the next write takes all of them (up to `maxWeight`, at least one
 * item). Under light load each item is written on its own at once; under heavy load writes grow
 * and their fixed cost (a round trip, a commit) is shared. Each submitter learns its own item's
 * outcome, so a queue job completes only once its rows are committed.
 */
export interface CoalescedItem<T> {
  item: T;
  weight: number;
}

export type CoalescedWrite<T> = (
  items: CoalescedItem<T>[],
) => Promise<PromiseSettledResult<void>[]>;

interface Pending<T> extends CoalescedItem<T> {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class InsertCoalescer<T> {
  private readonly waiting: Pending<T>[] = [];
  private running = false;
  private weightWaiting = 0;
  private weightInFlight = 0;

  /**
   * @param write writes the items and settles each one (same order); throwing settles them all
   * @param maxWeight the most weight (records) one write takes
   */
  constructor(
    private readonly write: CoalescedWrite<T>,
    private readonly maxWeight: number,
  ) {}

  /** Weight submitted and not yet settled (in flight or waiting). */
  get pendingWeight(): number {
    return this.weightWaiting + this.weightInFlight;
  }

  submit(item: T, weight: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, weight, resolve, reject });
      this.weightWaiting += weight;
      // setImmediate: items submitted in the same turn of the event loop go in the same write.
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const taken: Pending<T>[] = [];
      let weight = 0;
      while (
        this.waiting.length > 0 &&
        (taken.length === 0 || weight + this.waiting[0]!.weight <= this.maxWeight)
      ) {
        const next = this.waiting.shift()!;
        taken.push(next);
        weight += next.weight;
      }
      this.weightWaiting -= weight;
      this.weightInFlight = weight;
      let outcomes: PromiseSettledResult<void>[];
      try {
        outcomes = await this.write(taken.map(({ item, weight: w }) => ({ item, weight: w })));
      } catch (error) {
        outcomes = taken.map(() => ({ status: 'rejected', reason: error }));
      }
      this.weightInFlight = 0;
      taken.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome?.status === 'fulfilled') pending.resolve();
        else
          pending.reject(outcome ? outcome.reason : new Error('no outcome for a coalesced item'));
      });
    }
    this.running = false;
  }
}
