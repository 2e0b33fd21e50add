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

/**
 * A list of ranges as network addresses grouped by version and prefix length, so that an
 * address is tested with one lookup per distinct prefix, not one comparison per range.
 */
interface CidrSet {
  /** IPv4 as numbers: an address's network is `Math.floor(address / size)`, no bigint made. */
  4: { size: number; networks: Set<number> }[];
  6: { shift: bigint; networks: Set<bigint> }[];
}

// The ranges of a list, by the list object: a data document's list (a blocklist of thousands
// of ranges) is the same object decision after decision, and documents are replaced, never
// changed in place. Only lists whose every range is valid are kept.
const cidrLists = new WeakMap<readonly unknown[], CidrSet>();

// Short lists by content: a list built in the condition (`data.network.corporate +
// data.network.vpn`) is a new object every decision. Keyed by object it would be parsed again
// each time and leave one dead WeakMap entry per decision for the collector, which showed as a
// latency tail (p99 ~100 µs where the median is 9); keyed by its text it is parsed once.
const SHORT_LIST = 16;
const shortLists = new Map<string, CidrSet>();

function cidrSetOf(list: readonly unknown[]): CidrSet {
  const byObject = cidrLists.get(list);
  if (byObject) return byObject;
  if (list.length > SHORT_LIST) {
    const set = buildCidrSet(list);
    cidrLists.set(list, set);
    return set;
  }
  for (const text of list)
    if (typeof text !== 'string') throw new Error('inCidr: every range must be a string');
  const key = list.join(' ');
  let set = shortLists.get(key);
  if (!set) {
    set = buildCidrSet(list);
    if (shortLists.size > 1_000) shortLists.clear();
    shortLists.set(key, set);
  }
  return set;
}

function buildCidrSet(list: readonly unknown[]): CidrSet {
  const v4 = new Map<number, Set<number>>();
  const v6 = new Map<number, Set<bigint>>();
  for (const text of list) {
    if (typeof text !== 'string') throw new Error('inCidr: every range must be a string');
    const cidr = cidrOf(text);
    if (cidr.version === 4) {
      let networks = v4.get(cidr.prefix);
      if (!networks) v4.set(cidr.prefix, (networks = new Set()));
      networks.add(Number(cidr.network) / 2 ** (32 - cidr.prefix));
    } else {
      let networks = v6.get(cidr.prefix);
      if (!networks) v6.set(cidr.prefix, (networks = new Set()));
      networks.add(cidr.network);
    }
  }
  // Arrays, walked by index: iterating a Map makes an entry array per prefix and decision.
  return {
    4: [...v4].map(([prefix, networks]) => ({ size: 2 ** (32 - prefix), networks })),
    6: [...v6].map(([prefix, networks]) => ({ shift: BigInt(128 - prefix), networks })),
  };
}

/** `ip.inCidr(cidr)` / `ip.inCidr([cidrs])`: an unparsable IP is simply not in any range. */
export function inCidr(ip: string, cidrs: string | readonly string[]): boolean {
  // Every range of a list is validated (once per list), so a typo in data fails on every
  // request, not only on those the ranges before it do not match.
  if (typeof cidrs === 'string') {
    const cidr = cidrOf(cidrs);
    const address = cachedIp(ip);
    return address !== undefined && cidrContains(cidr, address);
  }
  const set = cidrSetOf(cidrs);
  const address = cachedIp(ip);
  if (!address) return false;
  if (address.version === 4) {
    const value = Number(address.value);
    const groups = set[4];
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i] as CidrSet[4][number];
      if (group.networks.has(Math.floor(value / group.size))) return true;
    }
    return false;
  }
  const groups = set[6];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] as CidrSet[6][number];
    if (group.networks.has((address.value >> group.shift) << group.shift)) return true;
  }
  return false;
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
