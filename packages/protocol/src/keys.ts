import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8 } from 'jose';
import type { CryptoKey, JWK } from 'jose';

import { BUNDLE_SIGNING_ALG } from './bundle.js';
import { StepgateError } from './errors.js';

/** The public half of a bundle-signing key, named by its `kid`. */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
}

/** A bundle-signing private key as a JWK (keep it secret). */
export interface Ed25519PrivateJwk extends Ed25519PublicJwk {
  d: string;
}

/** A public key as published in a {@link BundleJwks}. */
export interface BundleJwk extends Ed25519PublicJwk {
  use: 'sig';
  alg: 'EdDSA';
}

/** The key set agents trust (`STEPGATE_TRUSTED_KEYS`, or pinned from the control plane). */
export interface BundleJwks {
  keys: BundleJwk[];
}

/** A signing key ready for {@link signBundle}, with the public JWK to publish. */
export interface ImportedSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: Ed25519PublicJwk;
}

/**
 * Generates a fresh Ed25519 bundle-signing key. `kid` is the base64url SHA-256 JWK thumbprint
 * (RFC 7638) of the public key, so the same key always has the same kid.
 */
export async function generateSigningKey(): Promise<{
  kid: string;
  privateJwk: Ed25519PrivateJwk;
  publicJwk: Ed25519PublicJwk;
}> {
  const { privateKey } = await generateKeyPair(BUNDLE_SIGNING_ALG, {
    crv: 'Ed25519',
    extractable: true,
  });
  const jwk = await exportJWK(privateKey);
  const { x, d } = jwk;
  if (typeof x !== 'string' || typeof d !== 'string') {
    throw new StepgateError('internal', 'the generated key did not export as an Ed25519 JWK');
  }
  const kid = await thumbprint(x);
  return {
    kid,
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x, d, kid },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid },
  };
}

/**
 * Loads a bundle-signing private key from a private JWK (object or JSON text) or a PKCS#8 PEM
 * (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm ed25519` writes). The kid is
 * the public key's thumbprint, whatever `kid` the input carries.
 *
 * @throws StepgateError `key/invalid` for anything but an Ed25519 private key (including a
 *   JWK whose `d` does not belong to its `x`).
 */
export async function importSigningKey(input: string | JWK): Promise<ImportedSigningKey> {
  let privateJwk: JWK;
  if (typeof input === 'string') {
    const text = input.trim();
    if (text.startsWith('-----BEGIN')) privateJwk = await pemToJwk(text);
    else if (text.startsWith('{')) privateJwk = parseJwkJson(text);
    else throw invalidKey('expected a private JWK (JSON) or a PKCS#8 PEM');
  } else if (typeof input === 'object' && input !== null) {
    privateJwk = input;
  } else {
    throw invalidKey('expected a private JWK (JSON) or a PKCS#8 PEM');
  }

  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519') {
    const type = [privateJwk.kty, privateJwk.crv].filter(Boolean).join('/') || 'unknown';
    throw invalidKey(`the key is ${type}; bundle-signing keys must be Ed25519 (OKP)`);
  }
  const { x, d } = privateJwk;
  if (typeof d !== 'string') throw invalidKey('the JWK is a public key (no "d"); expected private');
  if (typeof x !== 'string') throw invalidKey('the JWK has no "x" (public key)');

  let privateKey: CryptoKey;
  try {
    // Node's WebCrypto checks that `x` is the public half of `d`, so a mismatched pair fails here.
    privateKey = await importEd25519({ kty: 'OKP', crv: 'Ed25519', x, d });
  } catch (error) {
    throw invalidKey(
      `the Ed25519 JWK cannot be imported (is "d" the private half of "x"?): ${describe(error)}`,
      error,
    );
  }

  const kid = await thumbprint(x);
  return { kid, privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid } };
}

/**
 * The JWKS to publish or pin: each key reduced to its public members, with
 * `use: 'sig'`, `alg: 'EdDSA'` and its `kid`. Keys appearing twice are listed once.
 *
 * @throws StepgateError `key/invalid` for a non-Ed25519 key, a key without kid, or one kid
 *   used for two different keys.
 */
export function toJwks(publicJwks: readonly (Ed25519PublicJwk | JWK)[]): BundleJwks {
  const byKid = new Map<string, BundleJwk>();
  for (const jwk of publicJwks) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
      throw invalidKey(`cannot publish a ${jwk.kty ?? 'unknown'} key: bundle keys are Ed25519`);
    }
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) {
      throw invalidKey('cannot publish a key without kid');
    }
    const existing = byKid.get(jwk.kid);
    if (existing !== undefined && existing.x !== jwk.x) {
      throw invalidKey(`kid ${jwk.kid} names two different keys`);
    }
    byKid.set(jwk.kid, {
      kty: 'OKP',
      crv: 'Ed25519',
      x: jwk.x,
      kid: jwk.kid,
      use: 'sig',
      alg: BUNDLE_SIGNING_ALG,
    });
  }
  return { keys: [...byKid.values()] };
}

async function thumbprint(x: string): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
}

async function importEd25519(jwk: JWK): Promise<CryptoKey> {
  const key = await importJWK(jwk, BUNDLE_SIGNING_ALG, { extractable: false });
  if (key instanceof Uint8Array) throw new TypeError('expected an asymmetric key');
  return key;
}

function parseJwkJson(text: string): JWK {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidKey(`the JWK is not valid JSON: ${describe(error)}`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidKey('the JWK JSON is not an object');
  }
  if ('keys' in value) throw invalidKey('expected one private JWK, got a JWKS');
  return value as JWK;
}

/** PEM label -> what to tell the operator when it is not an unencrypted PKCS#8 key. */
const UNSUPPORTED_PEM: Record<string, string> = {
  'EC PRIVATE KEY': 'an EC (SEC1) private key; bundle-signing keys must be Ed25519',
  'RSA PRIVATE KEY': 'an RSA (PKCS#1) private key; bundle-signing keys must be Ed25519',
  'ENCRYPTED PRIVATE KEY': 'an encrypted PKCS#8 key; decrypt it first (openssl pkey)',
  'OPENSSH PRIVATE KEY': 'an OpenSSH key; convert it to PKCS#8 (ssh-keygen -p -m PKCS8)',
  'PUBLIC KEY': 'a public key; the signing key must be private',
};

async function pemToJwk(pem: string): Promise<JWK> {
  const label = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? '';
  if (label !== 'PRIVATE KEY') {
    throw invalidKey(`the PEM is ${UNSUPPORTED_PEM[label] ?? `a "${label}" block`}`);
  }
  const algorithm = pkcs8Algorithm(pem);
  if (algorithm !== 'Ed25519') {
    throw invalidKey(
      `the PEM holds a key of type ${algorithm ?? 'unrecognised'}; bundle-signing keys must be Ed25519`,
    );
  }
  try {
    const key = await importPKCS8(pem, BUNDLE_SIGNING_ALG, { extractable: true });
    return await exportJWK(key);
  } catch (error) {
    throw invalidKey(`the Ed25519 PKCS#8 key cannot be imported: ${describe(error)}`, error);
  }
}

/** DER of the algorithm OIDs an operator is likely to paste. */
const KEY_ALGORITHM_OIDS: Record<string, string> = {
  '2b6570': 'Ed25519',
  '2b6571': 'Ed448',
  '2b656e': 'X25519',
  '2b656f': 'X448',
  '2a8648ce3d0201': 'EC',
  '2a864886f70d010101': 'RSA',
  '2a864886f70d01010a': 'RSA-PSS',
};

/** DER of the named-curve OIDs of EC keys. */
const EC_CURVE_OIDS: Record<string, string> = {
  '2a8648ce3d030107': 'P-256',
  '2b81040022': 'P-384',
  '2b81040023': 'P-521',
  '2b8104000a': 'secp256k1',
};

/**
 * Names the key algorithm of a PKCS#8 PEM from its AlgorithmIdentifier, so a wrong key type
 * is reported as such rather than as an opaque WebCrypto "invalid key" error.
 * PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE { OID, ... }, ... }
 */
function pkcs8Algorithm(pem: string): string | undefined {
  let der: Uint8Array;
  try {
    const base64 = pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
    der = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  } catch {
    throw invalidKey('the PEM body is not valid base64');
  }
  const info = readTlv(der, 0, 0x30);
  const version = info && readTlv(der, info.start, 0x02);
  const algorithm = version && readTlv(der, version.end, 0x30);
  const oid = algorithm && readTlv(der, algorithm.start, 0x06);
  if (!oid) return undefined;
  const name = KEY_ALGORITHM_OIDS[hex(der, oid)] ?? `OID ${hex(der, oid)} (unknown)`;
  if (name !== 'EC') return name;
  const curve = readTlv(der, oid.end, 0x06);
  return `EC ${(curve && EC_CURVE_OIDS[hex(der, curve)]) ?? 'unknown curve'}`;
}

function hex(der: Uint8Array, range: { start: number; end: number }): string {
  return [...der.subarray(range.start, range.end)]
    .map((byte) => byte.toString(16).padStart(2, '0'))
    .join('');
}

/** One DER tag-length-value at `offset` with the expected tag: the value's byte range. */
function readTlv(
  der: Uint8Array,
  offset: number,
  tag: number,
): { start: number; end: number } | undefined {
  if (der[offset] !== tag) return undefined;
  let length = der[offset + 1];
  let start = offset + 2;
  if (length === undefined) return undefined;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = der[start + i];
      if (byte === undefined) return undefined;
      length = length * 256 + byte;
    }
    start += count;
  }
  const end = start + length;
  return end <= der.length ? { start, end } : undefined;
}

function invalidKey(message: string, cause?: unknown): StepgateError {
  return new StepgateError(
    'key/invalid',
    `invalid bundle-signing key: ${message}`,
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
