import { globMatch } from '../glob.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from './ip.js';

/**
 * The extra CEL functions of the language. Each is deterministic and side-effect free.
 * Handlers throw on bad arguments (an invalid CIDR, an unknown time zone) so the rule's
 * condition fails loudly and `onError` applies, instead of silently not matching.
 */

const cidrCache = new Map<string, Cidr>();

function cidrOf(text: string): Cidr {
  let cidr = cidrCache.get(text);
  if (cidr) return cidr;
  cidr = parseCidr(text);
  if (!cidr)
    throw new Error(
      `inCidr: "${text}" is not a CIDR range (expected e.g. "10.0.0.0/8" or "2001:db8::/32")`,
    );
  if (cidrCache.size > 10_000) cidrCache.clear();
  cidrCache.set(text, cidr);
  return cidr;
}

// The last address parsed: the rules of one decision usually ask about the same `context.ip`.
let lastIpText: string | undefined;
let lastIp: ReturnType<typeof parseIp>;

function cachedIp(text: string): ReturnType<typeof parseIp> {
  if (text !== lastIpText) {
    lastIp = parseIp(text);
    lastIpText = text;
  }
  return lastIp;
}

/** `ip.inCidr(cidr)` / `ip.inCidr([cidrs])`: an unparsable IP is simply not in any range. */
export function inCidr(ip: string, cidrs: string | readonly string[]): boolean {
  const list = typeof cidrs === 'string' ? [cidrs] : cidrs;
  const address = cachedIp(ip);
  let found = false;
  for (const text of list) {
    // Every range is validated even after a hit, so a typo in data fails on every request.
    if (typeof text !== 'string') throw new Error('inCidr: every range must be a string');
    const cidr = cidrOf(text);
    if (!found && address && cidrContains(cidr, address)) found = true;
  }
  return found;
}

export function globMatchAny(value: string, globs: string | readonly string[]): boolean {
  const list = typeof globs === 'string' ? [globs] : globs;
  for (const glob of list) {
    if (typeof glob !== 'string') throw new Error('globMatch: every pattern must be a string');
    if (globMatch(value, glob)) return true;
  }
  return false;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      });
    } catch {
      throw new Error(
        `unknown time zone "${timeZone}" (use an IANA name such as "Europe/Berlin" or "UTC")`,
      );
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

// The last answer per zone: within one decision every rule asks about the same `now`.
const lastTimeOfDay = new Map<string, { ms: number; text: string }>();

/** `now.timeOfDay("Europe/Berlin")` -> `"09:05"` (24-hour clock in that zone). */
export function timeOfDay(at: Date, timeZone: string): string {
  const ms = at.getTime();
  const last = lastTimeOfDay.get(timeZone);
  if (last && last.ms === ms) return last.text;
  const text = formatterFor(timeZone).format(at);
  if (lastTimeOfDay.size > 500) lastTimeOfDay.clear();
  lastTimeOfDay.set(timeZone, { ms, text });
  return text;
}

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** True when the wall-clock time in `timeZone` is in [start, end); windows may cross midnight. */
export function withinHours(at: Date, start: string, end: string, timeZone: string): boolean {
  for (const bound of [start, end]) {
    if (!HH_MM.test(bound))
      throw new Error(
        `withinHours: "${bound}" is not a time of day (expected "HH:MM", 00:00-23:59)`,
      );
  }
  const time = timeOfDay(at, timeZone);
  return start <= end ? time >= start && time < end : time >= start || time < end;
}
