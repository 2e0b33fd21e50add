/**
 * The log levels a Stepgate process accepts (`STEPGATE_LOG_LEVEL`), most verbose first: pino's
 * levels, so both apps take the same words.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths redacted from every log line of both apps, so a secret that reaches a log call by
 * accident is still not written: tokens, passwords, secrets, keys, authorization headers and
 * cookies, at the top level and one level down.
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'token',
  'password',
  'secret',
  'privateKey',
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
].flatMap((path) => [path, `*.${path}`]);

/** What a redacted value is replaced with. */
export const LOG_REDACT_CENSOR = '[redacted]';

/**
 * The pino options both apps build their logger from (plain data, so this package needs no
 * pino): one shape, `{"level":30,"time":…,"service":…,"msg":…}` with `logger.info({ctx}, 'msg')`,
 * the same levels and the same redaction. `base` replaces pino's pid/hostname with the service.
 */
export function logOptions(
  service: string,
  level: LogLevel,
): {
  level: LogLevel;
  base: { service: string };
  redact: { paths: string[]; censor: string };
} {
  return {
    level,
    base: { service },
    redact: { paths: [...LOG_REDACT_PATHS], censor: LOG_REDACT_CENSOR },
  };
}
