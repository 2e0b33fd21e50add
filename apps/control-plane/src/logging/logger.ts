import { logOptions, type LogLevel } from '@stepgate/protocol';
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/**
 * JSON logs in the shape, levels and redaction both apps share (`logOptions`), so a secret
 * that reaches a log call by accident is still not written.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = logOptions('stepgate-control-plane', level);
  return destination === undefined ? pino(options) : pino(options, destination);
}
