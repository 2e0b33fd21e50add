import type { Logger } from '@stepgate/agent-core';
import { logOptions, type LogLevel } from '@stepgate/protocol';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/**
 * pino, in the shape, levels and redaction the control plane uses too (`logOptions`): one JSON
 * object per line on stdout, `{"level":30,"time":…,"service":"stepgate-agent","msg":…,…fields}`.
 */
export function createPinoLogger(level: LogLevel, destination?: DestinationStream): PinoLogger {
  const options = logOptions('stepgate-agent', level);
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * The agent-core `Logger` port over pino. The port takes `(message, fields)`; pino is called
 * as everywhere else, `(fields, message)`, so redaction and the line's shape are pino's.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const log = createPinoLogger(level, destination);
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}
