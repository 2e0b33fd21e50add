/**
 * A single self-overwriting progress line on a terminal, shown only once a run has taken
 * long enough to be worth it; silent when stderr is not a terminal.
 */
export function createProgress(
  stream: NodeJS.WriteStream,
  label: string,
  delayMs = 300,
): { update(done: number, total: number): void; clear(): void } {
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total) {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (now - started < delayMs || (now - lastDraw < 100 && done < total)) return;
      lastDraw = now;
      drawn = true;
      stream.write(
        `\r${label} ${done}/${total} (${Math.floor((done / Math.max(total, 1)) * 100)}%)`,
      );
    },
    clear() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}

/** Where a countdown writes: stderr, and whether it is a terminal. */
export interface CountdownSink {
  write(text: string): unknown;
}

/**
 * A countdown for a waiting command: on a terminal one line redrawn in place
 * (`waiting for approval… 9:41 left`); elsewhere (CI logs) a plain line every `lineEveryMs`, so
 * logs show progress without thousands of carriage returns.
 */
export function createCountdown(
  stream: CountdownSink,
  isTty: boolean,
  label: string,
  deadline: number,
  lineEveryMs = 10_000,
): { tick(now: number, status?: string): void; clear(): void } {
  let lastLine = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    tick(now, status) {
      const text = `${label} ${formatClock(deadline - now)} left${status === undefined ? '' : ` (${status})`}`;
      if (isTty) {
        stream.write(`\r\u001b[2K${text}`);
        drawn = true;
        return;
      }
      if (now - lastLine < lineEveryMs) return;
      lastLine = now;
      stream.write(`${text}\n`);
    },
    clear() {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}

/** Milliseconds left as `m:ss` (or `h:mm:ss`), never negative. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}
