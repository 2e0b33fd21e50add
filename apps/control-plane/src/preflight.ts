import { Redis } from 'ioredis';
import { redactUrl } from './config/configuration.js';
import { redisOptions } from './config/redis-options.js';
import { applyMigrations } from './database/apply-migrations.js';

export class PreflightError extends Error {}

/**
 * Before Nest starts: the database exists and is migrated, and Redis answers. Each failure
 * is one line saying what is unreachable and which variable points elsewhere.
 */
export async function preflight(databaseUrl: string, redisUrl: string): Promise<void> {
  try {
    await applyMigrations(databaseUrl);
  } catch (error) {
    throw new PreflightError(
      (error as Error).message.split('\n')[0] ??
        `cannot prepare the database at ${redactUrl(databaseUrl)}; set DATABASE_URL`,
    );
  }
  const redis = new Redis({
    ...(redisOptions(redisUrl) as Record<string, unknown>),
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new PreflightError(
      `stepgate: cannot reach Redis at ${redactUrl(redisUrl)} (${reason}); start it or set REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
}
