import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/configuration.js';
import { redisOptions } from '../config/redis-options.js';

const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * socket.io through Redis pub/sub, so a broadcast on one control-plane replica reaches the
 * agents connected to every other (keys under the deployment's Redis prefix). While Redis is
 * down, broadcasts still reach this replica's agents; the publishes wait in the client's
 * offline queue, and agents that miss one catch up by revision when they reconnect.
 */
// @nestjs/platform-socket.io pins its own socket.io patch release, so the server's types come
// from the base class rather than from our socket.io dependency.
type IoServer = ReturnType<IoAdapter['createIOServer']>;
type IoServerOptions = Parameters<IoAdapter['createIOServer']>[1];

export class RedisIoAdapter extends IoAdapter {
  private io?: IoServer;
  private readonly clients: Redis[] = [];

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly log: Logger,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: IoServerOptions): IoServer {
    const server = super.createIOServer(port, options);
    // Each engine.io connection keeps the HTTP request that opened it (headers, parser, buffers)
    // for its whole life; nothing reads it after the handshake (socket.io tolerates its absence),
    // and 10,000 agents would hold 10,000 of them. socket.io's memory-usage guide does the same.
    server.engine?.on('connection', (raw: { request?: unknown }) => {
      raw.request = null;
    });
    const pub = new Redis(redisOptions(this.config.redisUrl) as Record<string, unknown>);
    const sub = pub.duplicate();
    let lastLogged = 0;
    for (const client of [pub, sub]) {
      client.on('error', (error: Error) => {
        if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return;
        lastLogged = Date.now();
        this.log.warn({ error: error.message }, 'socket.io Redis adapter: Redis unavailable');
      });
      this.clients.push(client);
    }
    const adapter = createAdapter(pub, sub, { key: `${this.config.redisPrefix}:socket.io` });
    server.adapter(adapter as unknown as Parameters<IoServer['adapter']>[0]);
    this.io = server;
    return server;
  }

  /** Closes this replica's agent connections (only these: not a broadcast) and the Redis clients. */
  override async dispose(): Promise<void> {
    this.io?.engine?.close();
    for (const client of this.clients.splice(0)) client.disconnect();
    await super.dispose();
  }
}
