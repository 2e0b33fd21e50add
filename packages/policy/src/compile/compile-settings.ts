import { parseMaxChanged } from '../activation-gate.js';
import type { CompileError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { liveSchemaValidator, validateAgainst } from '../evaluate/live-data.js';
import type { IssuerSettings, LiveDataDeclaration, Settings, SignalDeclaration } from '../model.js';
import {
  ISSUER_ALGORITHMS,
  settingsDocumentSchema,
  type IssuerDocument,
  type LiveDataDocument,
  type SignalDocument,
} from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';
import { isDataFile } from './data-documents.js';
import { compileConsole } from './console-settings.js';
import { compileDataSources } from './data-sources.js';
import { validate } from './validate.js';

/** What the settings are compiled against beside their own file. */
export interface SettingsContext {
  /** The text of a repository file (root-relative path), for live data schemas. */
  readFile?: (path: string) => string | undefined;
  /** Top-level Git data names and the file each comes from: never also a live data name. */
  dataNames?: ReadonlyMap<string, string>;
}

export const SETTINGS_FILE = 'stepgate.yaml';

/** Used when a repository has no stepgate.yaml: closed by default, no levels. */
export const DEFAULT_SETTINGS: Settings = {
  defaultEffect: 'deny',
  onError: 'deny',
  levels: [],
  issuers: [],
  mask: [],
};

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

export function compileSettings(
  source: YamlDocument,
  errors: CompileError[],
  context: SettingsContext = {},
): Settings {
  const doc = validate(source, settingsDocumentSchema, errors);
  if (!doc) return DEFAULT_SETTINGS;
  const seen = new Map<string, string>();
  const levels = (doc.levels ?? []).map((level, index) => {
    if (seen.has(level.name)) {
      errors.push(
        source.error('schema/invalid', `level "${level.name}" is declared twice`, [
          'levels',
          index,
          'name',
        ]),
      );
    }
    seen.set(level.name, level.name);
    const acr = asList(level.acr);
    const amr = asList(level.amr);
    for (const value of acr) {
      const other = (doc.levels ?? []).find((l, i) => i < index && asList(l.acr).includes(value));
      if (other)
        errors.push(
          source.error(
            'schema/invalid',
            `acr "${value}" maps to both "${other.name}" and "${level.name}"`,
            ['levels', index, 'acr'],
          ),
        );
    }
    return { name: level.name, acr, amr };
  });
  const settings: Settings = {
    defaultEffect: doc.defaultEffect ?? 'deny',
    onError: doc.onError ?? 'deny',
    levels,
    issuers: compileIssuers(doc.issuers ?? [], source, errors),
    mask: [...new Set(doc.mask ?? [])],
  };
  // Only when declared, so a repository without them compiles to the same bundle as before.
  const liveData = compileLiveData(doc.liveData ?? {}, source, errors, context);
  if (Object.keys(liveData).length > 0) settings.liveData = liveData;
  const signals = compileSignals(doc.signals ?? {}, source, errors);
  if (Object.keys(signals).length > 0) settings.signals = signals;
  const dataSources = compileDataSources(
    doc.dataSources ?? [],
    liveData,
    new Set(Object.keys(doc.liveData ?? {})),
    source,
    errors,
  );
  if (dataSources.length > 0) settings.dataSources = dataSources;
  if (doc.activation)
    settings.activation = { maxChanged: parseMaxChanged(doc.activation.maxChanged) };
  if (doc.console) {
    const console = compileConsole(doc.console, source, errors);
    if (console.oidc) settings.console = console;
  }
  return settings;
}

/** At most this many live data documents and signals each: every agent holds all of them. */
export const MAX_LIVE_DOCUMENTS = 64;
export const MAX_SIGNALS = 64;
/** The longest signal window: the control plane keeps a principal's events this long. */
export const MAX_SIGNAL_WINDOW = 90 * 86400;
const JSON_SCHEMA_2020 = 'https://json-schema.org/draft/2020-12/schema';

function compileLiveData(
  docs: Readonly<Record<string, LiveDataDocument>>,
  source: YamlDocument,
  errors: CompileError[],
  context: SettingsContext,
): Record<string, LiveDataDeclaration> {
  const names = Object.keys(docs);
  if (names.length > MAX_LIVE_DOCUMENTS)
    errors.push(
      source.error(
        'schema/invalid',
        `liveData declares ${names.length} documents; at most ${MAX_LIVE_DOCUMENTS} are allowed`,
        ['liveData'],
      ),
    );
  const compiled: Record<string, LiveDataDeclaration> = {};
  for (const name of names) {
    const doc = docs[name] as LiveDataDocument;
    const fail = (message: string, ...path: string[]) =>
      errors.push(
        source.error('live/invalid', `liveData.${name}: ${message}`, ['liveData', name, ...path]),
      );
    const gitFile = context.dataNames?.get(name);
    if (gitFile !== undefined) {
      fail(
        `data.${name} is already Git data (${gitFile}); a name is either Git data or live data, so rename one`,
      );
      continue;
    }
    if (!Object.hasOwn(doc, 'default') || doc.default === undefined) {
      fail('default is required: the value conditions read until one is written (e.g. [] or {})');
      continue;
    }
    const schema = loadLiveSchema(doc.schema, context, (message) => fail(message, 'schema'));
    if (!schema) continue;
    const problems = validateAgainst(schema, doc.default);
    if (problems.length > 0) {
      fail(`default does not match ${doc.schema}: ${problems.join('; ')}`, 'default');
      continue;
    }
    compiled[name] = { schema, default: doc.default };
  }
  return compiled;
}

/** The parsed, compiling JSON Schema at `path`, or undefined after reporting why not. */
function loadLiveSchema(
  path: string,
  context: SettingsContext,
  fail: (message: string) => void,
): Record<string, unknown> | undefined {
  const segments = path.split('/');
  if (
    path.startsWith('/') ||
    path.includes('\\') ||
    segments.some((segment) => segment === '..' || segment === '.' || segment === '') ||
    !path.endsWith('.json')
  ) {
    fail(
      `schema must be the path of a .json file inside the policy repository, from its root (e.g. schemas/blocked-ips.json), got ${JSON.stringify(path)}`,
    );
    return undefined;
  }
  if (isDataFile(path)) {
    fail(
      `schema ${path} is under data/, where it would also be a Git data document; move it, e.g. to schemas/`,
    );
    return undefined;
  }
  const text = context.readFile?.(path);
  if (text === undefined) {
    fail(`schema file ${path} does not exist in the policy repository`);
    return undefined;
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    fail(`schema file ${path} is not JSON: ${(error as Error).message}`);
    return undefined;
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    fail(`schema file ${path} must hold a JSON Schema object`);
    return undefined;
  }
  const declared = (schema as { $schema?: unknown }).$schema;
  if (declared !== undefined && declared !== JSON_SCHEMA_2020) {
    fail(
      `schema file ${path} declares $schema ${JSON.stringify(declared)}; live data schemas are JSON Schema 2020-12 ("${JSON_SCHEMA_2020}", or leave $schema out)`,
    );
    return undefined;
  }
  try {
    liveSchemaValidator(schema as Record<string, unknown>);
  } catch (error) {
    fail(`schema file ${path} is not a valid JSON Schema (2020-12): ${(error as Error).message}`);
    return undefined;
  }
  return schema as Record<string, unknown>;
}

function compileSignals(
  docs: Readonly<Record<string, SignalDocument>>,
  source: YamlDocument,
  errors: CompileError[],
): Record<string, SignalDeclaration> {
  const names = Object.keys(docs);
  if (names.length > MAX_SIGNALS)
    errors.push(
      source.error(
        'schema/invalid',
        `signals declares ${names.length} signals; at most ${MAX_SIGNALS} are allowed`,
        ['signals'],
      ),
    );
  const compiled: Record<string, SignalDeclaration> = {};
  for (const name of names) {
    const doc = docs[name] as SignalDocument;
    const before = errors.length;
    const fail = (message: string, path: string) =>
      errors.push(
        source.error('signal/invalid', `signals.${name}: ${message}`, ['signals', name, path]),
      );
    const window = typeof doc.window === 'number' ? doc.window : parseDuration(doc.window);
    if (
      window === undefined ||
      !Number.isInteger(window) ||
      window <= 0 ||
      window > MAX_SIGNAL_WINDOW
    )
      fail(
        `window must be a duration of whole seconds from 1s up to 90d (e.g. 1h, 24h), got ${JSON.stringify(doc.window)}`,
        'window',
      );
    const needsField = doc.aggregate === 'last' || doc.aggregate === 'distinct';
    if (needsField && doc.field === undefined)
      fail(
        `aggregate ${doc.aggregate} reads an event attribute: add field (e.g. field: country)`,
        'aggregate',
      );
    if (!needsField && doc.field !== undefined)
      fail(
        `aggregate ${doc.aggregate} reads no attribute; remove field (or use last or distinct)`,
        'field',
      );
    if (errors.length > before) continue;
    const signal: SignalDeclaration = {
      event: doc.event,
      window: window as number,
      aggregate: doc.aggregate,
    };
    if (doc.field !== undefined) signal.field = doc.field;
    compiled[name] = signal;
  }
  return compiled;
}

/** Seconds of clock skew tolerated when an issuer does not say. */
export const DEFAULT_CLOCK_SKEW = 60;
const MAX_CLOCK_SKEW = 3600;
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'];
/** JWK members that only a private or symmetric key has: never in a policy repository. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function compileIssuers(
  docs: readonly IssuerDocument[],
  source: YamlDocument,
  errors: CompileError[],
): IssuerSettings[] {
  const seen = new Set<string>();
  return docs.map((doc, index) => {
    const at = (...path: (string | number)[]) => ['issuers', index, ...path];
    const fail = (message: string, ...path: (string | number)[]) =>
      errors.push(source.error('schema/invalid', `issuers[${index}]: ${message}`, at(...path)));

    if (seen.has(doc.issuer)) fail(`issuer "${doc.issuer}" is declared twice`, 'issuer');
    seen.add(doc.issuer);

    // Neither jwksUrl nor jwks: the control plane finds the keys by OIDC discovery
    // (<issuer>/.well-known/openid-configuration), so the issuer must be a URL it may fetch.
    if (doc.jwksUrl === undefined && doc.jwks === undefined && !fetchableUrl(doc.issuer))
      fail(
        `without jwksUrl or inline jwks, the issuer must be an https:// URL (http:// only for localhost) for OIDC discovery, got ${JSON.stringify(doc.issuer)}; or give jwksUrl (fetched by the control plane) or inline jwks: {keys: [...]}`,
        'issuer',
      );
    if (doc.jwksUrl !== undefined && !fetchableUrl(doc.jwksUrl))
      fail(
        `jwksUrl must be an https:// URL (http:// only for localhost), got ${JSON.stringify(doc.jwksUrl)}`,
        'jwksUrl',
      );
    doc.jwks?.keys.forEach((key, keyIndex) => {
      if (typeof key.kty !== 'string')
        fail('every inline key needs a kty', 'jwks', 'keys', keyIndex);
      else if (key.kty === 'oct')
        fail(
          'inline keys must be public keys, not shared secrets (kty "oct")',
          'jwks',
          'keys',
          keyIndex,
        );
      const secret = SECRET_MEMBERS.filter((member) => Object.hasOwn(key, member));
      if (secret.length > 0)
        fail(
          `inline key ${keyIndex} holds private key material (${secret.join(', ')}); publish only the public key`,
          'jwks',
          'keys',
          keyIndex,
        );
    });

    const algorithms = doc.algorithms ?? DEFAULT_ALGORITHMS;
    algorithms.forEach((alg, algIndex) => {
      if (alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg))
        fail(
          `algorithm "${alg}" is refused: unsigned and shared-secret (HMAC) tokens are never accepted`,
          'algorithms',
          algIndex,
        );
      else if (!(ISSUER_ALGORITHMS as readonly string[]).includes(alg))
        fail(
          `unknown algorithm "${alg}" (allowed: ${ISSUER_ALGORITHMS.join(', ')})`,
          'algorithms',
          algIndex,
        );
    });

    let clockSkew = DEFAULT_CLOCK_SKEW;
    if (doc.clockSkew !== undefined) {
      const seconds =
        typeof doc.clockSkew === 'number' ? doc.clockSkew : parseDuration(doc.clockSkew);
      if (seconds === undefined || seconds > MAX_CLOCK_SKEW)
        fail(
          `clockSkew must be a duration up to 1h (e.g. 30s, 2m), got ${JSON.stringify(doc.clockSkew)}`,
          'clockSkew',
        );
      else clockSkew = seconds;
    }

    const attributes = doc.claims?.attributes ?? [];
    const names = new Set<string>();
    attributes.forEach((path, attrIndex) => {
      const name = attributeName(path);
      if (names.has(name))
        fail(
          `two attribute claims would both become principal.attributes.${name}`,
          'claims',
          'attributes',
          attrIndex,
        );
      names.add(name);
    });

    const issuer: IssuerSettings = {
      issuer: doc.issuer,
      audience: asList(doc.audience),
      algorithms: [...new Set(algorithms)],
      clockSkew,
      claims: { principal: doc.claims?.principal ?? 'sub', attributes },
      challenge: doc.challenge ?? 'rfc9470',
    };
    if (doc.jwksUrl !== undefined) issuer.jwksUrl = doc.jwksUrl;
    if (doc.jwks !== undefined) issuer.jwks = { keys: doc.jwks.keys };
    if (doc.claims?.roles !== undefined) issuer.claims.roles = doc.claims.roles;
    if (doc.claims?.groups !== undefined) issuer.claims.groups = doc.claims.groups;
    if (doc.claims?.shape !== undefined) issuer.claims.shape = doc.claims.shape;
    return issuer;
  });
}

/**
 * Whether the control plane may fetch `value`: https, or plain http on loopback only (a local
 * IdP, tests); elsewhere anyone on the path could swap the keys every agent then trusts.
 */
export function fetchableUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
}

/**
 * The attribute name a claim path becomes: its last segment, split on `.` and `/` so that
 * `org.email` and a namespaced `https://example.com/email` both become `email`.
 */
export function attributeName(path: string): string {
  return path.split(/[./]/).at(-1) || path;
}
