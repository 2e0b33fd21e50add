import { setFlagsFromString } from 'node:v8';
import { startAgent } from './agent.js';
import { ConfigError, HelpRequested, loadConfig, USAGE, type AgentConfig } from './config.js';
import { createLogger } from './logger.js';

// CEL's `matches` compiles a JavaScript RegExp, whose backtracking is exponential on patterns
// such as ^(a+)+$ with a caller-chosen input; the cost budget cannot interrupt one match. With
// this flag V8 finishes such a match in its linear-time engine once it backtracks too much.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** `npm run start:agent`: config -> disk cache -> HTTP -> control plane. SIGTERM/SIGINT stop it. */
async function main(): Promise<void> {
  let config: AgentConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`stepgate agent: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { error: reason instanceof Error ? reason.message : String(reason) },
      'unhandled rejection',
    );
  });

  let agent;
  try {
    agent = await startAgent(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`stepgate agent: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const shutdown = (signal: string): void => {
    logger.info(`${signal} received: stopping`);
    void agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`stepgate agent: failed to start: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
