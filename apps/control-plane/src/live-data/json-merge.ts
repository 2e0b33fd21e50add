/**
 * The JSON helpers of live-data writes: RFC 7396 merge patches, the paths a write changed (for
 * the audit log and the history), and deep equality. Plain functions over parsed JSON values.
 */

type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sets an own property even for "__proto__" (plain assignment would replace the prototype and
 * hide the key from validation, which refuses such keys).
 */
function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * `patch` applied to `target` as RFC 7396 section 2 defines it: an object patch merges key by
 * key (null removes a key), anything else replaces the target. Neither input is modified.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = {};
  if (isJsonObject(target))
    for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else
      setOwn(
        result,
        key,
        applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value),
      );
  }
  return result;
}

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

/** How many changed paths a diff lists before it stops (the audit row stays small). */
export const MAX_CHANGED_PATHS = 50;

/** RFC 6901: `~` is `~0`, `/` is `~1`. */
export function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The JSON Pointers (RFC 6901) of what differs between `before` and `after`: object members
 * added, removed or changed, down to the first value that is not an object on both sides (a
 * changed list is one path). "" when the whole value changed; at most `limit` paths, then "…".
 */
export function changedPaths(before: unknown, after: unknown, limit = MAX_CHANGED_PATHS): string[] {
  const paths: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): boolean => {
    if (jsonEqual(a, b)) return true;
    if (!isJsonObject(a) || !isJsonObject(b)) {
      if (paths.length >= limit) return false;
      paths.push(at);
      return true;
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const left = Object.hasOwn(a, key) ? a[key] : undefined;
      const right = Object.hasOwn(b, key) ? b[key] : undefined;
      if (!walk(left, right, `${at}/${pointerToken(key)}`)) return false;
    }
    return true;
  };
  if (!walk(before, after, '')) paths.push('…');
  return paths;
}
