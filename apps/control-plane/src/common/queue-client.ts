import type { Queue } from 'bullmq';

/** The raw Redis client under a BullMQ queue (for ping and connection events). */
export async function redisClientOf(queue: Pick<Queue, 'getBackend'>): Promise<{
  ping(): Promise<unknown>;
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}> {
  const backend = queue.getBackend() as unknown as { connection: { client: Promise<never> } };
  return backend.connection.client;
}
