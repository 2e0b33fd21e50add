import type { Logger } from '@stepgate/agent-core';
import { logOptions, type LogLevel } from '@stepgate/protocol';
import { pino, type DestinationStream } from 'pino';

/**
 * pino, in the shape, levels and redaction the control plane uses too (`logOptions`): one JSON
 * object per line on stdout, `{"level":30,"time":…,"service":"stepgate-agent","msg":…,…fields}`.
 * It is the agent-core `Logger` port as is: both take `({ fields }, 'message')`.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = logOptions('stepgate-agent', level);
  return destination === undefined ? pino(options) : pino(options, destination);
}
