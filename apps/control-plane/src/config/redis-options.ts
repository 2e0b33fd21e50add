import type { RedisOptions } from 'bullmq';

/** ioredis options from a `redis://user:pass@host:port/db` URL (BullMQ needs maxRetriesPerRequest: null). */
export function redisOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    maxRetriesPerRequest: null,
    // Reconnect forever with a capped delay: Redis restarts must heal without a restart of ours.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace('/', '');
  if (db) options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}
