/**
 * Fast time-zone conversion for CEL timestamps.
 *
 * cel-js implements `ts.getHours("Europe/Berlin")` and friends as
 * `new Date(ts.toLocaleString('en-US', {timeZone}))`, and `toLocaleString` builds a new
 * Intl formatter on every call (~40 µs, which alone would blow the 50 µs decision budget).
 * We give the timestamps we hand to CEL an own `toLocaleString` that returns the identical
 * string from a formatter cached per zone, memoised per timestamp and zone, so every
 * time-zone-aware call in a decision after the first costs a map lookup.
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

/** Returns `date` itself, with an own, cached `toLocaleString` for the `en-US` + timeZone case. */
export function withFastTimeZones(date: Date): Date {
  let memo: Map<string, string> | undefined;
  Object.defineProperty(date, 'toLocaleString', {
    configurable: true,
    enumerable: false,
    value(
      this: Date,
      locales?: Intl.LocalesArgument,
      options?: Intl.DateTimeFormatOptions,
    ): string {
      const timeZone = options?.timeZone;
      if (
        locales !== 'en-US' ||
        !options ||
        Object.keys(options).length !== 1 ||
        timeZone === undefined
      ) {
        return nativeToLocaleString.call(this, locales, options);
      }
      memo ??= new Map();
      let text = memo.get(timeZone);
      if (text === undefined) {
        text = localeFormatter(timeZone).format(this);
        memo.set(timeZone, text);
      }
      return text;
    },
  });
  return date;
}
