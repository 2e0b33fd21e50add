export interface WriteBatcherOptions {
  /** How long the first queued item waits for company. */
  delayMs: number;
  /** A batch this large is written at once. */
  maxItems: number;
}

/**
 * Queues items and writes them together: one statement for many agents instead of one each, so
 * a burst of connections or acks does not queue behind the database pool. Each `add` resolves
 * once its batch is written (or rejects with that batch's error). Batches are written one at a
 * time, in order, so a later batch never overtakes an earlier one.
 */
export class WriteBatcher<T> {
  private queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly options: WriteBatcherOptions,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.delayMs);
    });
  }

  /** Writes what is queued now; resolves once every batch queued so far is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.queue.length);
    if (batch.length > 0) {
      this.writing = this.writing.then(async () => {
        for (let i = 0; i < batch.length; i += this.options.maxItems) {
          const chunk = batch.slice(i, i + this.options.maxItems);
          try {
            await this.write(chunk.map((entry) => entry.item));
            for (const entry of chunk) entry.resolve();
          } catch (error) {
            for (const entry of chunk) entry.reject(error);
          }
        }
      });
    }
    return this.writing;
  }
}
