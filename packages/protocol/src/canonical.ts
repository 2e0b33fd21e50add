/**
 * Canonical JSON (RFC 8785 for plain JSON data): object keys sorted by UTF-16 code unit, no
 * whitespace, `undefined` object members dropped (`undefined` array items become `null`, as in
 * `JSON.stringify`). Objects with `toJSON` (such as `Date`) are encoded through it. The same
 * value always gives the same bytes, so hashes and signatures over it are stable.
 *
 * Throws a `TypeError` for what JSON cannot carry faithfully: non-finite numbers, bigints,
 * functions, symbols, cycles, and objects that are neither plain nor `toJSON`-able (Map, Set…).
 * A bigint or a Map is refused rather than encoded (as digits, as `{}`): either would hash a
 * value that does not come back the same from `JSON.parse`. The one canonical JSON of the
 * workspace: bundle hashes, signatures and the control plane's fingerprints all go through it.
 */
export function canonicalJson(value: unknown): string {
  const out = serialize(value, new Set());
  if (out === undefined) throw new TypeError('canonical JSON cannot encode undefined');
  return out;
}

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text` (or of the given bytes). */
export async function sha256Hex(text: string | Uint8Array): Promise<string> {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** `undefined` means "omit" (an object member whose value is `undefined`). */
function serialize(value: unknown, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonical JSON cannot encode the non-finite number ${value}`);
      }
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      return serializeObject(value, seen);
    default:
      // bigint would not survive a JSON round trip; functions and symbols are not data.
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

function serializeObject(object: object, seen: Set<object>): string | undefined {
  if (seen.has(object)) throw new TypeError('canonical JSON cannot encode a cyclic structure');
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      return `[${object.map((item: unknown) => serialize(item, seen) ?? 'null').join(',')}]`;
    }
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return serialize(toJSON.call(object), seen);
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new TypeError(`canonical JSON cannot encode a ${kind}: only plain objects and arrays`);
    }
    const members: string[] = [];
    for (const key of Object.keys(object).sort(compareCodeUnits)) {
      const member = serialize((object as Record<string, unknown>)[key], seen);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
