import type { Logger } from 'pino';

const DEFAULT_INTERVAL_MS = 30_000;

/**
 * An `error` listener for a BullMQ queue or worker. Without one, BullMQ prints every failed
 * reconnect to stderr as a raw stack trace (several a second while Redis is down); with it, an
 * outage is one structured warning per interval, with how many errors it stood for.
 */
export function redisErrorLogger(
  logger: Pick<Logger, 'warn'>,
  what: string,
  intervalMs = DEFAULT_INTERVAL_MS,
  now: () => number = Date.now,
): (error: Error) => void {
  let lastLogged = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return (error) => {
    unlogged += 1;
    if (now() - lastLogged < intervalMs) return;
    lastLogged = now();
    logger.warn({ error: error?.message, errors: unlogged }, `${what}: Redis unavailable`);
    unlogged = 0;
  };
}
