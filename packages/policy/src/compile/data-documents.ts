import type { CompileError } from '../errors.js';
import type { DataSchema } from '../cel/environment.js';
import type { Settings, SignalAggregate } from '../model.js';
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
  /** The type-checker schema of `data`: see {@link documentType}. */
  schema: { [key: string]: DataSchema };
  errors: CompileError[];
} {
  const data: Record<string, unknown> = {};
  const schema: { [key: string]: DataSchema } = {};
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
    const value = parsed.documents[0]?.value ?? null;
    let node = data;
    let schemaNode = schema;
    for (const key of keys.slice(0, -1)) {
      node = (node[key] ??= {}) as Record<string, unknown>;
      schemaNode = (schemaNode[key] ??= {}) as { [key: string]: DataSchema };
    }
    const name = keys[keys.length - 1] as string;
    node[name] = value;
    schemaNode[name] = documentType(value);
    owners.set(dotted, file.path);
  }
  return { data, schema, errors };
}

/** The first key anywhere in a data value that is one of UNSAFE_KEYS, with its parent's path. */
export function findUnsafeKey(
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
 * The type of one data document in the type-checker schema. The path to a document (its
 * folders and file name) is a closed schema, so `data.netwrok` is a compile error with its
 * position; the document's value is a CEL map (or list), so `key in data.users`,
 * `data.users[key]`, `has(data.users.x)`, `size()` and the macros work as CEL specifies.
 * Keys inside a document are therefore not checked at compile time: a missing key is a
 * runtime error (the rule's `onError` applies), as for any CEL map.
 */
function documentType(value: unknown): DataSchema {
  if (Array.isArray(value)) return 'list<dyn>';
  return isPlainObject(value) ? 'map<string, dyn>' : 'dyn';
}

/**
 * The type-checker schema of the live data documents: like a Git document's, from the type
 * its JSON Schema gives every value (an array is a list, an object a map, anything else dyn).
 */
export function liveDataTypes(settings: Settings): { [name: string]: DataSchema } {
  const types: { [name: string]: DataSchema } = {};
  for (const [name, live] of Object.entries(settings.liveData ?? {})) {
    const type = live.schema.type;
    types[name] = type === 'array' ? 'list<dyn>' : type === 'object' ? 'map<string, dyn>' : 'dyn';
  }
  return types;
}

const SIGNAL_TYPES: Record<SignalAggregate, string> = {
  count: 'int',
  exists: 'bool',
  last: 'dyn',
  distinct: 'int',
};

/** The type-checker schema of `signals`: each declared signal typed by its aggregate. */
export function signalTypes(settings: Settings): { [name: string]: string } {
  const types: { [name: string]: string } = {};
  for (const [name, signal] of Object.entries(settings.signals ?? {}))
    types[name] = SIGNAL_TYPES[signal.aggregate];
  return types;
}
