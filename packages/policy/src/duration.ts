const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration like `90s`, `5m`, `1h`, `1h30m` into seconds: the one duration grammar of
 * policies, settings and flags. A bare number (`3600`) is not a duration: the unit is always
 * written, as nothing tells whether the writer meant seconds or milliseconds.
 * Returns undefined when the text is not a duration, so callers can report where it came from.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let total = 0;
  // Compound durations (`1h30m`) are split into their unit-terminated parts.
  const parts = trimmed.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== trimmed) return undefined;
  for (const part of parts) {
    const match = DURATION.exec(part);
    if (!match) return undefined;
    total += Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  }
  return total;
}

/**
 * The same grammar as a JSON Schema `pattern` (ECMA-262), for the published file schemas that
 * editors validate with: a sum of unit-terminated parts, the unit always written.
 */
export const DURATION_PATTERN = '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$';

/**
 * Why `text` is not a duration, worded once for every setting and flag; callers put the name
 * of the setting in front (`STEPGATE_GRANT_TTL: "3600" is not a duration; ...`).
 */
export function notADuration(text: string): string {
  return `${JSON.stringify(text)} is not a duration; write e.g. 1h or 3600s`;
}

/** Formats seconds as the shortest exact duration text (`300` -> `5m`). */
export function formatDuration(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
