/**
 * Fast time-zone conversion for CEL timestamps.
 *
 * cel-js implements `ts.getHours("Europe/Berlin")` and friends as
 * `new Date(ts.toLocaleString('en-US', {timeZone}))`, and `toLocaleString` builds a new
 * Intl formatter on every call (~40 µs, which alone would blow the 50 µs decision budget).
 * We give the timestamps we hand to CEL an own `toLocaleString` that returns the identical
 * string from a formatter cached per zone, memoised per zone and whole second, so every
 * time-zone-aware call after the first in a second costs a map lookup.
 */

const LOCALE_OPTIONS = {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
} as const;
const formatters = new Map<string, Intl.DateTimeFormat>();

function localeFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for an unknown zone, exactly like Date#toLocaleString would.
    formatter = new Intl.DateTimeFormat('en-US', { ...LOCALE_OPTIONS, timeZone });
    if (formatters.size > 500) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

const nativeToLocaleString = Date.prototype.toLocaleString;

/**
 * The last string per zone, by whole second: the format has no fractional seconds, so every
 * decision within one second (thousands at load) reads the same string, and the memo lives
 * across decisions instead of being a fresh Map per `now`.
 */
const lastByZone = new Map<string, { second: number; text: string }>();

function fastToLocaleString(
  this: Date,
  locales?: Intl.LocalesArgument,
  options?: Intl.DateTimeFormatOptions,
): string {
  const timeZone = options?.timeZone;
  if (locales !== 'en-US' || !options || Object.keys(options).length !== 1 || !timeZone)
    return nativeToLocaleString.call(this, locales, options);
  const second = Math.floor(this.getTime() / 1000);
  const last = lastByZone.get(timeZone);
  if (last !== undefined && last.second === second) return last.text;
  const text = localeFormatter(timeZone).format(this);
  if (lastByZone.size > 500) lastByZone.clear();
  lastByZone.set(timeZone, { second, text });
  return text;
}

/**
 * Every date handed to CEL inherits from this: Date's own prototype with `toLocaleString`
 * replaced. Its `constructor` is still Date, which is how cel-js recognises a timestamp.
 */
const FAST_DATE_PROTOTYPE: Date = Object.create(Date.prototype, {
  toLocaleString: {
    configurable: true,
    enumerable: false,
    writable: true,
    value: fastToLocaleString,
  },
});

/**
 * A new Date at `ms` whose `toLocaleString` takes the fast path for the `en-US` + timeZone
 * case. A prototype swap on a fresh Date rather than an own property: every such date shares
 * one hidden class, and it costs half the time and garbage of `Object.defineProperty`.
 */
export function fastZonedDate(ms: number): Date {
  return Object.setPrototypeOf(new Date(ms), FAST_DATE_PROTOTYPE) as Date;
}
