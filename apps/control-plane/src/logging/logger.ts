import { pino, type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/**
 * JSON logs. Authorization headers, tokens, passwords and keys are redacted by path so a
 * secret that reaches a log call by accident is still not written.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'stepgate-control-plane' },
    redact: {
      paths: [
        'token',
        '*.token',
        'password',
        '*.password',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'privateKey',
        '*.privateKey',
        'secret',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  });
}
