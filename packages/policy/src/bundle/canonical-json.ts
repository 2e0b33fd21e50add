/**
 * Canonical JSON (RFC 8785 style for the values policies use): object keys sorted by code
 * unit, no whitespace, `undefined` members dropped. The same policy set always serialises to
 * the same bytes, so its hash and signature are stable across machines.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, new Set());
}

function serialize(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError('canonical JSON cannot encode a non-finite number');
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
  const object = value as object;
  if (seen.has(object)) throw new TypeError('canonical JSON cannot encode a cyclic structure');
  seen.add(object);
  let out: string;
  if (Array.isArray(object)) {
    out = `[${object.map((item) => serialize(item === undefined ? null : item, seen)).join(',')}]`;
  } else if (object instanceof Date) {
    out = JSON.stringify(object.toISOString());
  } else {
    const entries = Object.entries(object)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, seen)}`).join(',')}}`;
  }
  seen.delete(object);
  return out;
}
