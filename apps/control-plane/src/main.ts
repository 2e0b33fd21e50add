import 'reflect-metadata';
import { Server as HttpsServer } from 'node:https';
import { TokenService } from './auth/token.service.js';
import { ConfigError, loadConfig, type AppConfig } from './config/configuration.js';
import {
  describeCertificate,
  readTlsCredentials,
  watchTlsFiles,
  type TlsCredentials,
} from '@stepgate/tls-files';
import { createApp } from './create-app.js';
import { preflight, PreflightError } from './preflight.js';

/** `npm run start:control-plane`: validate config, prepare database and Redis, serve. */
async function main(): Promise<void> {
  let config: AppConfig;
  let tls: TlsCredentials | undefined;
  try {
    config = loadConfig();
    // Checked before anything else: a file that does not load stops the start with its name.
    try {
      tls = config.tls === undefined ? undefined : readTlsCredentials(config.tls);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`stepgate: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  try {
    await preflight(config.databaseUrl, config.redisUrl);
  } catch (error) {
    if (error instanceof PreflightError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { app, logger } = await createApp(config, tls?.options);
  await app.get(TokenService).bootstrapAdmin((text) => process.stdout.write(text));
  await app.listen(config.port, config.host);
  // Idle keep-alive connections stay open longer than clients keep them (Node's fetch: 4 s,
  // proxies: 60 s), so a client never sends on a connection the server is closing at that
  // moment ("other side closed"); the agent's server does the same.
  const server = app.getHttpServer() as import('node:http').Server;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  if (tls !== undefined && config.tls !== undefined && server instanceof HttpsServer) {
    // New handshakes take a renewed certificate; open connections (agent sockets) keep theirs.
    watchTlsFiles(server, config.tls, tls, logger);
    logger.info(
      { port: config.port, certificate: describeCertificate(tls.certificate) },
      `control plane listening on https://localhost:${config.port}`,
    );
    return;
  }
  logger.info({ port: config.port }, `control plane listening on http://localhost:${config.port}`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `stepgate: control plane failed to start: ${(error as Error).message?.split('\n')[0] ?? String(error)}\n`,
  );
  process.exit(1);
});
