import type { z } from 'zod';
import type { CompileError } from '../errors.js';
import { formatPath, type YamlDocument } from '../source/yaml-file.js';

/**
 * Validates a parsed document against its schema and turns every issue into a positioned
 * CompileError (all of them, not just the first). Returns the typed value when valid.
 */
export function validate<T extends z.ZodType>(
  source: YamlDocument,
  schema: T,
  errors: CompileError[],
  extra: Partial<CompileError> = {},
  at: readonly (string | number)[] = [],
): z.infer<T> | undefined {
  const result = schema.safeParse(valueAt(source.value, at));
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = [
      ...at,
      ...issue.path.filter((part): part is string | number => typeof part !== 'symbol'),
    ];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        errors.push({
          code: 'schema/invalid',
          message: `${formatPath([...path, key])}: unknown field "${key}"${hint(path)}`,
          file: source.file,
          ...source.positionOf(path, key),
          ...extra,
        });
      }
      continue;
    }
    errors.push({
      code: 'schema/invalid',
      message: `${formatPath(path)}: ${describe(issue)}`,
      file: source.file,
      ...source.positionOf(path),
      ...extra,
    });
  }
  return undefined;
}

function describe(issue: z.core.$ZodIssue): string {
  // zod leaves `input` out of issues, so a missing value is told by the message.
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message))
    return `is required (${issue.message.replace(/^Invalid input: /, '')})`;
  // A record key (a liveData or signal name): say what a key must be, not only that it is not.
  if (issue.code === 'invalid_key')
    return `invalid name: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  return issue.message;
}

function hint(path: readonly (string | number)[]): string {
  const last = path[path.length - 2];
  if (path.length === 0)
    return ' (top-level fields are apiVersion, kind, name, description and the fields of that kind)';
  if (last === 'rules')
    return ' (rule fields: name, description, effect, when, require, message, mode)';
  return '';
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of path)
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<string | number, unknown>)[key]
        : undefined;
  return value;
}
