import type { CompileError } from '../errors.js';
import type { DataSchema } from '../cel/environment.js';
import { formatPath, parseYamlFile } from '../source/yaml-file.js';
import type { SourceFile } from './source-file.js';

export const DATA_DIR = 'data/';
const DATA_EXTENSION = /\.(ya?ml|json)$/;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isDataFile(path: string): boolean {
  return path.startsWith(DATA_DIR) && DATA_EXTENSION.test(path);
}

/** `data/geo/blocked.yaml` -> `["geo", "blocked"]`, exposed to conditions as `data.geo.blocked`. */
export function dataKeyPath(path: string): string[] {
  return path.slice(DATA_DIR.length).replace(DATA_EXTENSION, '').split('/');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Loads every data document into one tree. JSON files are parsed as YAML too (JSON is YAML
 * 1.2), which gives them the same positions in errors.
 */
export function loadDataDocuments(files: readonly SourceFile[]): {
  data: Record<string, unknown>;
  errors: CompileError[];
} {
  const data: Record<string, unknown> = {};
  // dotted path -> the file that defines it; a path may come from one file only.
  const owners = new Map<string, string>();
  const errors: CompileError[] = [];
  for (const file of files) {
    const parsed = parseYamlFile(file.path, file.content);
    errors.push(...parsed.errors);
    if (parsed.errors.length > 0) continue;
    if (parsed.documents.length > 1) {
      errors.push({
        code: 'data/invalid',
        file: file.path,
        message: `a data file must hold one YAML document, found ${parsed.documents.length}`,
      });
      continue;
    }
    const keys = dataKeyPath(file.path);
    if (keys.some((key) => key === '')) {
      errors.push({
        code: 'data/invalid',
        file: file.path,
        message: 'a data file or folder name may not be empty',
      });
      continue;
    }
    // Keys become object properties: names that reach Object.prototype are refused.
    if (keys.some((key) => UNSAFE_KEYS.has(key))) {
      errors.push({
        code: 'data/invalid',
        file: file.path,
        message: `"${keys.find((key) => UNSAFE_KEYS.has(key))}" cannot be a data file or folder name`,
      });
      continue;
    }
    const document = parsed.documents[0];
    const unsafe = document ? findUnsafeKey(document.value) : undefined;
    if (document && unsafe) {
      errors.push({
        code: 'data/invalid',
        file: file.path,
        ...document.positionOf(unsafe.parent, unsafe.key),
        message: `data key "${unsafe.key}" at ${formatPath([...unsafe.parent, unsafe.key])} is not allowed: "__proto__", "constructor" and "prototype" reach JavaScript's object internals, so every rule reading this data would fail; rename the key`,
      });
      continue;
    }
    const dotted = keys.join('.');
    const conflict = [...owners.keys()].find(
      (other) =>
        other === dotted || other.startsWith(`${dotted}.`) || dotted.startsWith(`${other}.`),
    );
    if (conflict !== undefined) {
      errors.push({
        code: 'data/duplicate',
        file: file.path,
        message: `data.${dotted} overlaps data.${conflict} from ${owners.get(conflict)}; each data path must come from one file`,
      });
      continue;
    }
    let node = data;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1] as string] = parsed.documents[0]?.value ?? null;
    owners.set(dotted, file.path);
  }
  return { data, errors };
}

/** The first key anywhere in a data value that is one of UNSAFE_KEYS, with its parent's path. */
function findUnsafeKey(
  value: unknown,
  parent: (string | number)[] = [],
): { parent: (string | number)[]; key: string } | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnsafeKey(item, [...parent, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  // Own keys only: a `__proto__` key parsed from YAML or JSON is an own property.
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key)) return { parent, key };
    const found = findUnsafeKey(value[key], [...parent, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * The type-checker schema of the data tree: objects become nested schemas, so a reference
 * to a key that no data file defines (`data.netwrok`) is a compile error with its position.
 */
export function dataSchemaOf(value: unknown): DataSchema {
  if (!isPlainObject(value)) return Array.isArray(value) ? 'list' : 'dyn';
  const entries = Object.entries(value);
  if (entries.length === 0) return 'map';
  const schema: Record<string, DataSchema> = {};
  for (const [key, child] of entries) schema[key] = dataSchemaOf(child);
  return schema;
}
