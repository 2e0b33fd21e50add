/**
 * Just enough JSON Schema (as the control plane's OpenAPI document writes it, from zod) to
 * build a plausible body for a route and to break it one field at a time.
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  default?: unknown;
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null';

/** The JSON types a schema accepts; empty when it accepts anything. */
export function acceptedTypes(schema: JsonSchema): Set<JsonType> {
  const types = new Set<JsonType>();
  const add = (s: JsonSchema) => {
    if (s.const !== undefined) types.add(typeOfValue(s.const));
    for (const value of s.enum ?? []) types.add(typeOfValue(value));
    const declared = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    for (const t of declared) types.add(t as JsonType);
    for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) add(branch);
  };
  add(schema);
  if (types.has('integer')) types.add('number');
  return types;
}

function typeOfValue(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

/** A value meant to pass `schema` (best effort: patterns and formats get typical values). */
export function sampleOf(schema: JsonSchema, depth = 0): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (branch) return sampleOf(branch, depth);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      if (schema.format === 'uri') return 'http://127.0.0.1:9/drill.git';
      if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (schema.pattern === '^\\d{6}$') return '123456';
      return 'drill';
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, (schema.exclusiveMinimum ?? 0) + 1);
    case 'boolean':
      return false;
    case 'array':
      return schema.items && depth < 4
        ? Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () =>
            sampleOf(schema.items as JsonSchema, depth + 1),
          )
        : [];
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? [])
        out[name] = depth < 4 ? sampleOf(schema.properties?.[name] ?? {}, depth + 1) : {};
      return out;
    }
    default:
      return {};
  }
}

/** Values of every JSON type, to pick the ones a field does not accept. */
const BY_TYPE: Record<Exclude<JsonType, 'integer'>, unknown[]> = {
  string: ['', 'x'.repeat(10_000), '\u0000', '2026-13-45T99:99:99Z', '💥'],
  number: [-1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 1],
  boolean: [true, false],
  array: [[], [null], [[[]]], Array.from({ length: 2000 }, (_, i) => i)],
  object: [{}, { nested: { deeper: [1] } }],
  null: [null],
};

/** Values of types the schema refuses; empty when it takes anything. */
export function wrongValuesFor(schema: JsonSchema): unknown[] {
  const accepted = acceptedTypes(schema);
  if (accepted.size === 0) return [];
  const wrong: unknown[] = [];
  for (const [type, values] of Object.entries(BY_TYPE)) {
    if (accepted.has(type as JsonType)) continue;
    wrong.push(...values);
  }
  // An integer field also refuses fractions.
  if (accepted.has('integer') && !(accepted.has('number') && schemaDeclares(schema, 'number')))
    wrong.push(1.5);
  return wrong;
}

function schemaDeclares(schema: JsonSchema, type: string): boolean {
  const declared = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  return (
    declared.includes(type) ||
    [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].some((b) => schemaDeclares(b, type))
  );
}

/** Every field path of an object schema (nested objects too), with its schema. */
export function fieldsOf(
  schema: JsonSchema,
  prefix: string[] = [],
): { path: string[]; schema: JsonSchema }[] {
  const fields: { path: string[]; schema: JsonSchema }[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, name];
    fields.push({ path, schema: field });
    if (field.properties && path.length < 4) fields.push(...fieldsOf(field, path));
  }
  return fields;
}

/** A deep copy of `value` with `path` set to `to` (intermediate objects created). */
export function withField(value: unknown, path: string[], to: unknown): unknown {
  const copy = structuredClone(value ?? {}) as Record<string, unknown>;
  let cursor = copy;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      cursor[key] = to;
      break;
    }
    const next = cursor[key];
    cursor[key] = typeof next === 'object' && next !== null ? next : {};
    cursor = cursor[key] as Record<string, unknown>;
  }
  return copy;
}

/** Every string field path inside a JSON value (for null bytes and invalid UTF-8). */
export function stringPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value === 'string') return [prefix];
  if (typeof value !== 'object' || value === null || prefix.length > 6) return [];
  return Object.entries(value).flatMap(([key, child]) => stringPaths(child, [...prefix, key]));
}
