import type { Environment } from '@marcbachmann/cel-js';
import { meterCondition } from '../../../packages/policy/src/cel/cost-instrument.js';
import { CostMeter } from '../../../packages/policy/src/cel/cost-meter.js';
import { runtimeEnvironment } from '../../../packages/policy/src/cel/environment.js';
import {
  fieldOf,
  fieldsOf,
  messageField,
  scalarField,
  stringField,
  type TextMessage,
} from './textproto.js';

/**
 * One cel-spec `simple` test case run through Stepgate's CEL setup: the environment conditions
 * run in (its options and Stepgate's own functions), plus the case's variables; the expression
 * is type-checked as the compiler does, then evaluated with the engine's cost metering, as the
 * agent does.
 */

/** Why a case cannot apply to Stepgate's environment; counted, never dropped. */
export type NotApplicable =
  | 'protobuf messages'
  | 'protobuf enums'
  | 'needs disable_check'
  | 'function declarations'
  | 'extension not offered'
  | 'result kind';

export type CaseResult =
  | { status: 'pass' }
  | { status: 'fail'; detail: string }
  | { status: 'n/a'; reason: NotApplicable; detail: string };

class NotApplicableError extends Error {
  constructor(
    readonly reason: NotApplicable,
    detail: string,
  ) {
    super(detail);
  }
}

// cel-js exports the types of its uint and duration values, not the classes: take them from
// values it makes.
const probe = runtimeEnvironment();
const UnsignedInt = (probe.evaluate('0u') as object).constructor as new (value: bigint) => {
  value: bigint;
};
const Duration = (probe.evaluate('duration("0s")') as object).constructor as new (
  seconds: bigint,
  nanos: number,
) => { seconds: bigint; nanos: number };

/** The value of a Type, by name (cel-js's Type class is not exported either). */
class TypeName {
  constructor(readonly name: string) {}
}

const PRIMITIVES: Record<string, string> = {
  BOOL: 'bool',
  INT64: 'int',
  UINT64: 'uint',
  DOUBLE: 'double',
  STRING: 'string',
  BYTES: 'bytes',
};
const WELL_KNOWN: Record<string, string> = {
  TIMESTAMP: 'google.protobuf.Timestamp',
  DURATION: 'google.protobuf.Duration',
};
const NATIVE_MESSAGES = new Set(['google.protobuf.Timestamp', 'google.protobuf.Duration']);

/** A cel.expr.Type as a cel-js type name. */
function typeName(type: TextMessage): string {
  const [[kind, value] = ['', undefined]] = type.fields;
  const text = value?.kind === 'scalar' ? value.text : undefined;
  const nested = (message: TextMessage, field: string) =>
    typeName(messageField(message, field) ?? { kind: 'message', fields: [] });
  switch (kind) {
    case 'primitive':
      if (text && text in PRIMITIVES) return PRIMITIVES[text] as string;
      break;
    case 'well_known':
      if (text && text in WELL_KNOWN) return WELL_KNOWN[text] as string;
      break;
    case 'dyn':
      return 'dyn';
    case 'null':
      return 'null';
    case 'list_type':
      return `list<${nested(value as TextMessage, 'elem_type')}>`;
    case 'map_type':
      return `map<${nested(value as TextMessage, 'key_type')}, ${nested(value as TextMessage, 'value_type')}>`;
    case 'message_type': {
      const name = stringField(type, 'message_type') as string;
      if (NATIVE_MESSAGES.has(name)) return name;
      throw new NotApplicableError('protobuf messages', `variable of message type ${name}`);
    }
  }
  throw new NotApplicableError('protobuf messages', `type ${kind} is not a CEL built-in type`);
}

function doubleOf(text: string): number {
  const lower = text.toLowerCase();
  if (/^[-+]?inf(inity)?$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/^[-+]?nan$/.test(lower)) return NaN;
  return Number(text.replace(/[fF]$/, ''));
}

/** A cel.expr.Value as the JavaScript value cel-js uses for it. */
export function valueOf(value: TextMessage): unknown {
  const [[kind, field] = ['', undefined]] = value.fields;
  switch (kind) {
    case 'null_value':
      return null;
    case 'bool_value':
      return scalarField(value, kind) === 'true';
    case 'int64_value':
      return BigInt(scalarField(value, kind) as string);
    case 'uint64_value':
      return new UnsignedInt(BigInt(scalarField(value, kind) as string));
    case 'double_value':
      return doubleOf(scalarField(value, kind) as string);
    case 'string_value':
      return stringField(value, kind);
    case 'bytes_value':
      return (field as { bytes: Uint8Array }).bytes;
    case 'type_value':
      return new TypeName(stringField(value, kind) as string);
    case 'list_value':
      return fieldsOf(field as TextMessage, 'values').map((item) => valueOf(item as TextMessage));
    case 'map_value': {
      const map = new Map<unknown, unknown>();
      for (const entry of fieldsOf(field as TextMessage, 'entries') as TextMessage[]) {
        map.set(
          valueOf(messageField(entry, 'key') as TextMessage),
          valueOf(messageField(entry, 'value') as TextMessage),
        );
      }
      return map;
    }
    case 'object_value':
      return objectOf(field as TextMessage);
    case 'enum_value':
      throw new NotApplicableError('protobuf enums', 'an enum value');
  }
  throw new NotApplicableError('result kind', `value kind ${kind}`);
}

/** A google.protobuf.Any: the two well-known types CEL has natively, or not applicable. */
function objectOf(any: TextMessage): unknown {
  const [[url, message] = ['', undefined]] = any.fields;
  const type = url.replace(/^\[(?:.*\/)?/, '').replace(/\]$/, '');
  const body = message as TextMessage;
  const seconds = BigInt(scalarField(body, 'seconds') ?? '0');
  const nanos = Number(scalarField(body, 'nanos') ?? '0');
  if (type === 'google.protobuf.Duration') return new Duration(seconds, nanos);
  if (type === 'google.protobuf.Timestamp')
    return new Date(Number(seconds) * 1000 + Math.floor(nanos / 1e6));
  throw new NotApplicableError('protobuf messages', `a ${type} message`);
}

/** A map as cel-js returns it (a plain object, or a Map) with its keys as CEL keys. */
function mapEntries(value: unknown): Map<string, unknown> | undefined {
  const keyOf = (key: unknown) =>
    typeof key === 'object' && key !== null
      ? String((key as { value: bigint }).value)
      : String(key);
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [keyOf(key), item]));
  if (typeof value === 'object' && value !== null && value.constructor === Object)
    return new Map(Object.entries(value));
  return undefined;
}

/** CEL equality of an actual result and an expected value, types included (1 is not 1.0). */
export function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'bigint') return actual === expected;
  if (typeof expected === 'number')
    return (
      typeof actual === 'number' && (actual === expected || (isNaN(actual) && isNaN(expected)))
    );
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (expected instanceof UnsignedInt)
    return actual instanceof UnsignedInt && actual.value === expected.value;
  if (expected instanceof Duration)
    return (
      actual instanceof Duration &&
      actual.seconds === expected.seconds &&
      actual.nanos === expected.nanos
    );
  if (expected instanceof Date)
    return actual instanceof Date && actual.getTime() === expected.getTime();
  if (expected instanceof TypeName)
    return (
      typeof actual === 'object' &&
      actual !== null &&
      actual.constructor.name === 'Type' &&
      (actual as { name: string }).name === expected.name
    );
  if (expected instanceof Uint8Array)
    return (
      actual instanceof Uint8Array &&
      actual.length === expected.length &&
      actual.every((byte, index) => byte === expected[index])
    );
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      actual.every((item, index) => same(item, expected[index]))
    );
  const want = mapEntries(expected);
  const got = mapEntries(actual);
  if (!want || !got || want.size !== got.size) return false;
  return [...want].every(([key, item]) => got.has(key) && same(got.get(key), item));
}

export function describeValue(value: unknown): string {
  return (
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return `${item}n`;
      if (item instanceof Map) return Object.fromEntries(item);
      if (item instanceof Uint8Array) return `b[${[...item].join(',')}]`;
      if (item instanceof TypeName) return `type(${item.name})`;
      if (typeof item === 'number' && !Number.isFinite(item)) return String(item);
      if (typeof item === 'object' && item !== null && item.constructor.name === 'Type')
        return `type(${(item as { name: string }).name})`;
      if (item instanceof UnsignedInt) return `${item.value}u`;
      if (item instanceof Duration) return `duration(${item.seconds}s ${item.nanos}ns)`;
      return item;
    }) ?? String(value)
  );
}

const meter = new CostMeter();

/** Building a protobuf message (`TestAllTypes{...}`, `google.protobuf.Int32Value{...}`). */
const MESSAGE_CONSTRUCTION =
  /(?:\bgoogle\.protobuf\.\w+\s*\{|\bcel\s*\.\s*expr\s*\.|\bTestAllTypes\b)/;

export interface CaseOptions {
  /**
   * The extension function(s) of the case's section that Stepgate's environment does not
   * define: a case that fails the type check there is not applicable; one that passes it runs
   * as any other.
   */
  notOffered?: string;
  /**
   * Whether an expected error must carry one of the case's error messages (Stepgate's own
   * cases); cel-spec's messages are its reference implementation's, so only the fact of an
   * error counts there.
   */
  matchMessages?: boolean;
}

/** Runs one `test` message of a SimpleTestFile. */
export function runCase(test: TextMessage, options: CaseOptions = {}): CaseResult {
  try {
    return run(test, options);
  } catch (error) {
    if (error instanceof NotApplicableError)
      return { status: 'n/a', reason: error.reason, detail: error.message };
    throw error;
  }
}

function run(test: TextMessage, { notOffered, matchMessages }: CaseOptions): CaseResult {
  const expr = stringField(test, 'expr') as string;
  const container = stringField(test, 'container') ?? '';
  if (container !== '')
    throw new NotApplicableError('protobuf messages', `names resolved in container ${container}`);
  if (MESSAGE_CONSTRUCTION.test(expr))
    throw new NotApplicableError('protobuf messages', 'builds a protobuf message');

  const variables = new Map<string, string>();
  for (const decl of fieldsOf(test, 'type_env') as TextMessage[]) {
    const name = stringField(decl, 'name') as string;
    if (fieldOf(decl, 'function'))
      throw new NotApplicableError('function declarations', `declares function ${name}`);
    const ident = messageField(decl, 'ident') as TextMessage;
    variables.set(name, typeName(messageField(ident, 'type') as TextMessage));
  }
  const activation: Record<string, unknown> = {};
  for (const binding of fieldsOf(test, 'bindings') as TextMessage[]) {
    const name = stringField(binding, 'key') as string;
    const exprValue = messageField(binding, 'value') as TextMessage;
    activation[name] = valueOf(messageField(exprValue, 'value') as TextMessage);
    if (!variables.has(name)) variables.set(name, 'dyn');
  }

  const expectedValue = messageField(test, 'value');
  const evalError = messageField(test, 'eval_error');
  const expectsError = evalError !== undefined;
  const messages = matchMessages
    ? (fieldsOf(evalError ?? { kind: 'message', fields: [] }, 'errors') as TextMessage[]).map(
        (error) => stringField(error, 'message') as string,
      )
    : undefined;
  const kind = test.fields.find(([name]) =>
    ['typed_result', 'unknown', 'any_eval_errors', 'any_unknowns'].includes(name),
  );
  if (kind) throw new NotApplicableError('result kind', `expects ${kind[0]}`);
  // No result given means `value: { bool_value: true }`.
  const expected = expectsError ? undefined : expectedValue ? valueOf(expectedValue) : true;
  const outcome = (phase: string, error: unknown) =>
    errorOutcome(phase, error, expectsError, expected, messages);

  const env: Environment = runtimeEnvironment().clone();
  for (const [name, type] of variables) env.registerVariable(name, type);

  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(expr);
  } catch (error) {
    return outcome('parse', error);
  }
  const check = parsed.check();
  if (!check.valid) {
    if (notOffered !== undefined)
      throw new NotApplicableError(
        'extension not offered',
        `${notOffered} is not in the environment: ${firstLine(check.error)}`,
      );
    if (scalarField(test, 'disable_check') === 'true')
      throw new NotApplicableError(
        'needs disable_check',
        `fails the type check Stepgate always runs: ${firstLine(check.error)}`,
      );
    return outcome('check', check.error);
  }
  let actual: unknown;
  try {
    meter.startDecision();
    actual = meterCondition(parsed, meter)(activation);
  } catch (error) {
    return outcome('evaluation', error);
  }
  if (expectsError)
    return { status: 'fail', detail: `expected an error, got ${describeValue(actual)}` };
  return same(actual, expected)
    ? { status: 'pass' }
    : {
        status: 'fail',
        detail: `expected ${describeValue(expected)}, got ${describeValue(actual)}`,
      };
}

function firstLine(error: unknown): string {
  return ((error as Error | undefined)?.message ?? String(error)).split('\n')[0] as string;
}

function errorOutcome(
  phase: string,
  error: unknown,
  expectsError: boolean,
  expected: unknown,
  messages: string[] | undefined,
): CaseResult {
  if (expectsError && messages) {
    const message = firstLine(error);
    return messages.some((part) => message.includes(part))
      ? { status: 'pass' }
      : {
          status: 'fail',
          detail: `expected an error with ${messages.map((m) => `"${m}"`).join(' or ')}, got a ${phase} error: ${message}`,
        };
  }
  // An error the type check raises meets an expected error (a condition refused at compile time
  // never runs), except a missing overload: that is the environment lacking the function, not
  // the error the case is about (e.g. int(uint) out of range).
  if (expectsError && !(phase === 'check' && /no matching overload/.test(firstLine(error))))
    return { status: 'pass' };
  if (expectsError)
    return {
      status: 'fail',
      detail: `expected an error of its own, got a ${phase} error: ${firstLine(error)}`,
    };
  return {
    status: 'fail',
    detail: `expected ${describeValue(expected)}, got a ${phase} error: ${firstLine(error)}`,
  };
}
