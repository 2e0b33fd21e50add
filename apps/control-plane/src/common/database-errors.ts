/**
 * True for errors meaning "PostgreSQL is not there" (connection refused, terminated, pool
 * timeout), which the API reports as 503 rather than 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, message, name } = current as {
      code?: unknown;
      message?: unknown;
      name?: unknown;
    };
    if (
      typeof code === 'string' &&
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'ETIMEDOUT',
        'EHOSTUNREACH',
        'P1001',
        'P1017',
        'P2024',
        '57P01',
        '57P03',
      ].includes(code)
    )
      return true;
    if (
      name === 'DriverAdapterError' &&
      typeof message === 'string' &&
      /connect|terminat|closed/i.test(message)
    )
      return true;
    if (
      typeof message === 'string' &&
      /Can't reach database server|Connection terminated|connect ECONNREFUSED|Server has closed the connection/i.test(
        message,
      )
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * True for PostgreSQL refusing a text value (SQLSTATE 22021, e.g. a NUL character, which
 * PostgreSQL text cannot hold): the caller's input is at fault, so it is a 400, not a 500.
 */
export function isInvalidText(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, originalCode, meta } = current as {
      code?: unknown;
      originalCode?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (code === '22021' || originalCode === '22021') return true;
    current = meta?.driverAdapterError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}
