/**
 * One read shared by every caller that may use it: a read that started at or after the moment
 * the caller needs it to be fresh from (`notBefore`, a `performance.now()`).
 *
 * Why this is enough for agents, on any number of replicas and without invalidation messages:
 * a socket that joined the namespace at `t` receives every broadcast sent after `t`, and a read
 * started after `t` sees every change committed (and so broadcast) before `t`. A burst of
 * connections therefore costs one read per read latency, not one per agent.
 */
export class FreshRead<T> {
  private inflight?: { startedAt: number; promise: Promise<T> };
  /** The last read that succeeded, while no newer one has (a later caller may still use it). */
  private settled?: { startedAt: number; value: T };

  constructor(private readonly read: () => Promise<T>) {}

  get(notBefore = performance.now()): Promise<T> {
    const settled = this.settled;
    if (settled && settled.startedAt >= notBefore) return Promise.resolve(settled.value);
    const inflight = this.inflight;
    if (inflight && inflight.startedAt >= notBefore) return inflight.promise;
    const startedAt = performance.now();
    const promise = this.read().then((value) => {
      if (!this.settled || this.settled.startedAt < startedAt) this.settled = { startedAt, value };
      return value;
    });
    const current = { startedAt, promise };
    this.inflight = current;
    const clear = () => {
      if (this.inflight === current) this.inflight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  /** Forgets the settled value (e.g. it is known to be outdated); in-flight reads still serve. */
  forget(): void {
    this.settled = undefined;
  }
}
