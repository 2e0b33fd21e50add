import 'reflect-metadata';
import type { SecureContextOptions } from 'node:tls';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RedisIoAdapter } from './agents/redis-io.adapter.js';
import { AppModule } from './app.module.js';
import { ConsoleConfigService } from './console-auth/console-config.service.js';
import { consoleConnectOrigins, consoleRouter } from './console/console-static.js';
import { crossOriginGuard } from './console/cross-origin-guard.js';
import type { AppConfig } from './config/configuration.js';
import { GitHttpHandler } from './git-server/git-http.handler.js';
import { liveDataBodyParser } from './live-data/live-data-body.js';
import { createLogger } from './logging/logger.js';
import { eventsBodyParser } from './signals/events-body.js';

/**
 * Builds the HTTP application (used by main and by the integration tests); with `https`
 * (certificate and key) it serves HTTPS, agent sockets included (wss).
 */
export async function createApp(config: AppConfig, https?: SecureContextOptions) {
  const logger = createLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    rawBody: true,
    logger: ['error', 'warn'],
    ...(https === undefined ? {} : { httpsOptions: https }),
  });
  app.disable('x-powered-by');
  // Browsers may use the API from the console's own origin only (no CORS, ever).
  app.use('/v1', crossOriginGuard(config.elevation.origins));
  const consoleConfig = app.get(ConsoleConfigService);
  app.use(
    '/console',
    consoleRouter({
      directory: config.consoleDir,
      connectOrigins: () => consoleConnectOrigins(consoleConfig),
    }),
  );
  // Before the global parser: live documents may be any JSON value, PATCH a merge patch.
  app.use('/v1/data', liveDataBodyParser());
  // Before the global parser: CloudEvents media types, and batches up to EVENTS_MAX_BODY_BYTES.
  app.use('/v1/events', eventsBodyParser());
  app.useBodyParser('json', { limit: '1mb' });
  // Git smart HTTP streams its own bodies; it is mounted before Nest's routes.
  app.use('/git', app.get(GitHttpHandler).handle);
  // Agent sockets go through Redis so any replica can push to any agent.
  app.useWebSocketAdapter(new RedisIoAdapter(app, config, logger));
  app.enableShutdownHooks();
  return { app, logger };
}
