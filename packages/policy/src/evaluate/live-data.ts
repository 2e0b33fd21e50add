import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { findUnsafeKey } from '../compile/data-documents.js';
import type { SignalAggregate, SignalDeclaration, Settings } from '../model.js';
import { formatPath } from '../source/yaml-file.js';

/**
 * Live data and risk signals at decision time: validating a live document against its
 * declared JSON Schema, and the values conditions read when nothing was written or observed.
 */

/** What an agent holds of the live data: one data revision and its documents by name. */
export interface LiveData {
  /** The control plane's monotonic data revision these documents are at. */
  revision: number;
  documents: Readonly<Record<string, unknown>>;
}

/** How many validation errors are reported for one value; the rest are counted. */
const MAX_REPORTED_ERRORS = 10;

// One validator per schema object. One Ajv instance compiles them all (a fresh instance per
// schema costs tens of milliseconds), and forgets each schema once compiled, so a schema `$id`
// may repeat across documents and nothing is kept after a policy set is gone.
const validators = new WeakMap<object, ValidateFunction>();
let ajv: Ajv2020 | undefined;

/**
 * Compiles a JSON Schema (2020-12) into a validator, or throws with Ajv's message when it is
 * not one. Strict: an unknown keyword (a misspelt `tpye`) is an error, not ignored. `format`
 * is an annotation only, as 2020-12 defines it: write a `pattern` to check a string's shape.
 */
export function liveSchemaValidator(schema: Record<string, unknown>): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    ajv ??= new Ajv2020({
      allErrors: true,
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      validateFormats: false,
    });
    try {
      validate = ajv.compile(schema);
    } finally {
      ajv.removeSchema(schema);
    }
    validators.set(schema, validate);
  }
  return validate;
}

/**
 * Why `value` may not be live document `name` under `settings`: one message per problem,
 * empty when it may. The same check the compiler applies to each declared default.
 */
export function validateLiveDocument(settings: Settings, name: string, value: unknown): string[] {
  const declaration = Object.hasOwn(settings.liveData ?? {}, name)
    ? settings.liveData?.[name]
    : undefined;
  if (!declaration) {
    const declared = Object.keys(settings.liveData ?? {});
    return [
      `"${name}" is not a live data document declared in stepgate.yaml (declared: ${declared.join(', ') || 'none'})`,
    ];
  }
  return validateAgainst(declaration.schema, value);
}

/** The messages of validating `value` against a compiled live document schema. */
export function validateAgainst(schema: Record<string, unknown>, value: unknown): string[] {
  const unsafe = findUnsafeKey(value);
  if (unsafe)
    return [
      `key "${unsafe.key}" at ${formatPath([...unsafe.parent, unsafe.key])} is not allowed: "__proto__", "constructor" and "prototype" reach JavaScript's object internals`,
    ];
  let validate: ValidateFunction;
  try {
    validate = liveSchemaValidator(schema);
  } catch (error) {
    return [`the document's JSON Schema does not compile: ${(error as Error).message}`];
  }
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const messages = errors
    .slice(0, MAX_REPORTED_ERRORS)
    .map((error) => `${error.instancePath || '(root)'}: ${error.message ?? 'is invalid'}`);
  if (errors.length > MAX_REPORTED_ERRORS)
    messages.push(`and ${errors.length - MAX_REPORTED_ERRORS} more`);
  return messages;
}

/**
 * What a signal reads when the principal has no events in its window: count and distinct 0
 * (CEL int), exists false, last null.
 */
export function signalZeroValue(aggregate: SignalAggregate): unknown {
  switch (aggregate) {
    case 'count':
    case 'distinct':
      return 0n;
    case 'exists':
      return false;
    case 'last':
      return null;
  }
}

/**
 * A signal's value as conditions read it. Counts arrive as JSON numbers and become CEL ints
 * (so `signals.failed_logins + 1` type-checks at run time too); anything else is passed as
 * is, and a value of the wrong type fails the conditions that read it (the rule's onError).
 */
export function signalValue(declaration: SignalDeclaration, value: unknown): unknown {
  if (value === undefined) return signalZeroValue(declaration.aggregate);
  if (
    (declaration.aggregate === 'count' || declaration.aggregate === 'distinct') &&
    typeof value === 'number' &&
    Number.isSafeInteger(value)
  )
    return BigInt(value);
  return value;
}
