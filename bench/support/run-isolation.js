// What a run leaves in the shared services, dropped at its end: its own database and its Redis
// keys. One implementation for the benchmarks' and the test suites' control-plane launchers
// (test/support/control-plane-process.ts imports it; run-isolation.d.ts types it for them).
import { Redis } from 'ioredis';
import pg from 'pg';

/** Drops the database `name` (its connections terminated), through the admin database. */
export async function dropDatabase(adminDatabaseUrl, name) {
  const client = new pg.Client({
    connectionString: adminDatabaseUrl,
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Deletes every key under `<prefix>:` (BullMQ queues, schedulers) from a Redis. */
export async function dropRedisPrefix(redisUrl, prefix) {
  const url = new URL(redisUrl);
  const redis = new Redis({
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
