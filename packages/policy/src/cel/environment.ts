import { Environment } from '@marcbachmann/cel-js';
import { globMatchAny, inCidr, timeOfDay, withinHours } from './functions.js';

const TIMESTAMP = 'google.protobuf.Timestamp';

/** The functions every environment offers, documented for `getDefinitions()` users. */
function registerFunctions(env: Environment): Environment {
  return env
    .registerFunction({
      name: 'inCidr',
      receiverType: 'string',
      returnType: 'bool',
      params: [{ name: 'cidr', type: 'string' }],
      handler: (ip: string, cidr: string) => inCidr(ip, cidr),
      description: 'True when the IP address is inside the CIDR range.',
    })
    .registerFunction({
      name: 'inCidr',
      receiverType: 'string',
      returnType: 'bool',
      params: [{ name: 'cidrs', type: 'list<string>' }],
      handler: (ip: string, cidrs: string[]) => inCidr(ip, cidrs),
      description: 'True when the IP address is inside any of the CIDR ranges.',
    })
    .registerFunction({
      name: 'globMatch',
      receiverType: 'string',
      returnType: 'bool',
      params: [{ name: 'glob', type: 'string' }],
      handler: (value: string, glob: string) => globMatchAny(value, glob),
      description: 'True when the string matches the glob (* within a segment, ** across).',
    })
    .registerFunction({
      name: 'globMatch',
      receiverType: 'string',
      returnType: 'bool',
      params: [{ name: 'globs', type: 'list<string>' }],
      handler: (value: string, globs: string[]) => globMatchAny(value, globs),
      description: 'True when the string matches any of the globs.',
    })
    .registerFunction({
      name: 'timeOfDay',
      receiverType: TIMESTAMP,
      returnType: 'string',
      params: [{ name: 'timeZone', type: 'string' }],
      handler: (at: Date, tz: string) => timeOfDay(at, tz),
      description: 'The wall-clock time "HH:MM" in the named IANA time zone.',
    })
    .registerFunction({
      name: 'withinHours',
      receiverType: TIMESTAMP,
      returnType: 'bool',
      params: [
        { name: 'start', type: 'string' },
        { name: 'end', type: 'string' },
        { name: 'timeZone', type: 'string' },
      ],
      handler: (at: Date, start: string, end: string, tz: string) =>
        withinHours(at, start, end, tz),
      description: 'True when the time of day in the zone is in [start, end); may cross midnight.',
    });
}

const OPTIONS = { homogeneousAggregateLiterals: false } as const;

/**
 * The type-checker schema of `data`: folders and documents by name, so `data.netwrok` is a
 * compile error, not a runtime one; each document is `map<string, dyn>`, `list<dyn>` or `dyn`
 * (data-documents.ts), so its keys are read as CEL map keys.
 */
export type DataSchema = string | { [key: string]: DataSchema };

/**
 * The environment used to type-check conditions: input shapes are declared field by field
 * so a typo such as `principal.rolez` fails compilation with its position.
 */
export function createCheckEnvironment(
  dataSchema: DataSchema,
  signalsSchema: { [name: string]: string } = {},
): Environment {
  const env = new Environment(OPTIONS)
    .registerVariable({
      name: 'principal',
      schema: { id: 'string', roles: 'list<string>', groups: 'list<string>', attributes: 'map' },
    })
    .registerVariable('action', 'string')
    .registerVariable('actionAttributes', 'map')
    .registerVariable({
      name: 'resource',
      schema: { kind: 'string', id: 'string', attributes: 'map' },
    })
    .registerVariable('context', 'map')
    .registerVariable({
      name: 'auth',
      schema: {
        level: 'string',
        acr: 'string',
        amr: 'list<string>',
        authTime: 'dyn',
        approvals: 'list<string>',
        grants: 'list<string>',
      },
    })
    .registerVariable('now', TIMESTAMP)
    // Declared signals only, typed by their aggregate (compile-settings.ts): `signals.x` of an
    // undeclared x is a compile error, as `data.x` is.
    .registerVariable({ name: 'signals', schema: signalsSchema });
  if (typeof dataSchema === 'string') env.registerVariable('data', dataSchema);
  else env.registerVariable({ name: 'data', schema: dataSchema });
  return registerFunctions(env);
}

let runtime: Environment | undefined;

/**
 * The environment prepared expressions run in: plain maps, no per-evaluation conversion,
 * because the check environment has already proven every declared field and data path (keys
 * inside maps are CEL map keys in both: a missing one is an error when it is read).
 */
export function runtimeEnvironment(): Environment {
  runtime ??= registerFunctions(
    new Environment(OPTIONS)
      .registerVariable('principal', 'map')
      .registerVariable('action', 'string')
      .registerVariable('actionAttributes', 'map')
      .registerVariable('resource', 'map')
      .registerVariable('context', 'map')
      .registerVariable('auth', 'map')
      .registerVariable('now', TIMESTAMP)
      .registerVariable('data', 'map')
      .registerVariable('signals', 'map'),
  );
  return runtime;
}
