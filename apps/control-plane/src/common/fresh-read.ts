/**
 * One read shared by every caller that may use it: a read that started at or after the moment
 * the caller needs it to be fresh from (`notBefore`, a `performance.now()`).
 *
 * Why this is enough for agents, on any number of replicas and without invalidation messages:
 * a socket that joined the namespace at `t` receives every broadcast sent after `t`, and a read
 * started after `t` sees every change committed (and so broadcast) before `t`.
 *
 * A caller may let the read gather company (`gatherMs`): the read then starts that much later,
 * and every caller arriving meanwhile shares it. Connections arriving steadily (not only in one
 * burst) then cost at most one read per window instead of about one each.
 */
export class FreshRead<T> {
  private inflight?: { startedAt: number; promise: Promise<T> };
  /** A read that will start when its timer fires (or sooner, for a caller that cannot wait). */
  private scheduled?: { timer: NodeJS.Timeout; promise: Promise<T>; start: () => void };
  /** The last read that succeeded, while no newer one has (a later caller may still use it). */
  private settled?: { startedAt: number; value: T };

  constructor(private readonly read: () => Promise<T>) {}

  get(notBefore = performance.now(), gatherMs = 0): Promise<T> {
    const settled = this.settled;
    if (settled && settled.startedAt >= notBefore) return Promise.resolve(settled.value);
    const inflight = this.inflight;
    if (inflight && inflight.startedAt >= notBefore) return inflight.promise;
    // A scheduled read has not started yet: it starts after any `notBefore` given so far.
    const scheduled = this.scheduled;
    if (scheduled) {
      if (gatherMs <= 0) scheduled.start();
      return scheduled.promise;
    }
    if (gatherMs <= 0) return this.startNow();
    let start!: () => void;
    const promise = new Promise<T>((resolve, reject) => {
      start = () => {
        if (this.scheduled?.promise !== promise) return;
        clearTimeout(this.scheduled.timer);
        this.scheduled = undefined;
        this.startNow().then(resolve, reject);
      };
    });
    this.scheduled = { timer: setTimeout(() => start(), gatherMs), promise, start };
    return promise;
  }

  private startNow(): Promise<T> {
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
}
