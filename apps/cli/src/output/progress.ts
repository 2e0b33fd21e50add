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
