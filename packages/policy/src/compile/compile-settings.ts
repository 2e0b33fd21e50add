import type { CompileError } from '../errors.js';
import { parseDuration } from '../duration.js';
import type { IssuerSettings, Settings } from '../model.js';
import {
  ISSUER_ALGORITHMS,
  settingsDocumentSchema,
  type IssuerDocument,
} from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';
import { validate } from './validate.js';

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

export function compileSettings(source: YamlDocument, errors: CompileError[]): Settings {
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
  return {
    defaultEffect: doc.defaultEffect ?? 'deny',
    onError: doc.onError ?? 'deny',
    levels,
    issuers: compileIssuers(doc.issuers ?? [], source, errors),
    mask: [...new Set(doc.mask ?? [])],
  };
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
