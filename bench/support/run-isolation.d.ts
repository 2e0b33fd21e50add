/** Drops the database `name` (its connections terminated), through the admin database. */
export function dropDatabase(adminDatabaseUrl: string, name: string): Promise<void>;
/** Deletes every key under `<prefix>:` (BullMQ queues, schedulers) from a Redis. */
export function dropRedisPrefix(redisUrl: string, prefix: string): Promise<void>;
