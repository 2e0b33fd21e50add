import { CompactSign, compactVerify, decodeProtectedHeader, errors, importJWK } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWK, KeyObject } from 'jose';
import { z } from 'zod';

import { canonicalJson, sha256Hex } from './canonical.js';
import { StepgateError } from './errors.js';

/** `format` of every v1 bundle payload. */
export const BUNDLE_FORMAT = 'stepgate.bundle/v1';
/** JWS `typ` header of a signed bundle. */
export const BUNDLE_JWS_TYPE = 'stepgate-bundle+jws';
/** The only JWS algorithm bundles are signed and verified with (Ed25519). */
export const BUNDLE_SIGNING_ALG = 'EdDSA';

/** The header members a bundle JWS carries; anything else (`crit`, `b64`, `jku`…) is refused. */
const HEADER_MEMBERS = new Set(['alg', 'kid', 'typ']);

const isoDateTime = z.iso.datetime({ offset: true });

/**
 * The signed content of a bundle. `revision` is one counter shared by activations, rollbacks
 * and shadow changes, so every new bundle (of either kind) carries a greater revision than any
 * before it. `bundleHash` is the SHA-256 hex of `canonicalJson(policySet)`.
 */
export const bundlePayloadSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  kind: z.enum(['active', 'shadow']),
  revision: z.int().min(1),
  version: z.strictObject({
    id: z.string().min(1),
    number: z.int().min(1),
    sha: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-character lower-case hex commit sha'),
    branch: z.string().min(1),
    committedAt: isoDateTime,
  }),
  /** True when this activation moved to an older version on purpose. */
  rollback: z.boolean(),
  issuedAt: isoDateTime,
  bundleHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256'),
  /**
   * The public keys (JWKS) of the token issuers the policy set trusts, keyed by issuer: fetched
   * by the control plane when it signs the bundle, so agents verify bearer tokens offline.
   * Signed with the bundle but outside `bundleHash`: the keys rotate, the version does not.
   */
  issuerKeys: z
    .record(
      z.string().min(1).max(512),
      z.object({ keys: z.array(z.record(z.string(), z.unknown())).max(100) }),
    )
    .optional(),
  /** The compiled policy set; opaque here, but always a JSON object. */
  policySet: z.custom<unknown>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    'expected the compiled policy set object',
  ),
});

/** The signed content of a bundle; see {@link bundlePayloadSchema}. */
export type BundlePayload = z.infer<typeof bundlePayloadSchema>;

/** A private signing key and the `kid` its public half is published under. */
export interface BundleSigningKey {
  kid: string;
  privateKey: CryptoKey | KeyObject;
}

/** A public key that can verify a bundle: a WebCrypto key, a Node `KeyObject` or a public JWK. */
export type BundleVerificationKey = CryptoKey | KeyObject | JWK;

/** Looks up the public key for a `kid`; `undefined` when the kid is not trusted. */
export type BundleKeyResolver = (
  kid: string,
) => BundleVerificationKey | undefined | Promise<BundleVerificationKey | undefined>;

/** What made {@link verifyBundle} refuse a bundle. */
export type BundleVerificationFailure =
  | 'malformed'
  | 'header'
  | 'alg'
  | 'typ'
  | 'unknown_kid'
  | 'key'
  | 'signature'
  | 'payload'
  | 'schema'
  | 'hash';

/** A bundle was refused: unsigned, tampered, signed by an unknown key, or malformed. */
export class BundleVerificationError extends StepgateError {
  declare readonly code: 'bundle/invalid';
  override name = 'BundleVerificationError';

  constructor(
    readonly reason: BundleVerificationFailure,
    message: string,
    details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super('bundle/invalid', `bundle refused: ${message}`, { reason, ...details }, options);
  }
}

/** SHA-256 hex of the canonical JSON of a policy set: the `bundleHash` a payload must carry. */
export async function bundleHashOf(policySet: unknown): Promise<string> {
  return sha256Hex(canonicalJson(policySet));
}

/**
 * Signs a bundle payload: JWS compact serialization over the canonical JSON bytes of the
 * payload, protected header `{alg: 'EdDSA', kid, typ: 'stepgate-bundle+jws'}`.
 *
 * @throws StepgateError `request/invalid` when the payload fails the schema or its `bundleHash`
 *   does not match its `policySet`; `key/invalid` when the key cannot sign Ed25519.
 */
export async function signBundle(payload: BundlePayload, key: BundleSigningKey): Promise<string> {
  const parsed = bundlePayloadSchema.safeParse(payload);
  if (!parsed.success) {
    throw new StepgateError(
      'request/invalid',
      `bundle payload is invalid: ${z.prettifyError(parsed.error)}`,
      { issues: parsed.error.issues },
    );
  }
  let expectedHash: string;
  try {
    expectedHash = await bundleHashOf(parsed.data.policySet);
  } catch (error) {
    throw new StepgateError(
      'request/invalid',
      `bundle payload is invalid: policySet: ${describe(error)}`,
      undefined,
      { cause: error },
    );
  }
  if (parsed.data.bundleHash !== expectedHash) {
    throw new StepgateError(
      'request/invalid',
      'bundle payload is invalid: bundleHash does not match the policy set',
      { bundleHash: parsed.data.bundleHash, expected: expectedHash },
    );
  }
  if (typeof key.kid !== 'string' || key.kid.length === 0) {
    throw new StepgateError('key/invalid', 'the signing key has no kid');
  }
  try {
    return await new CompactSign(new TextEncoder().encode(canonicalJson(parsed.data)))
      .setProtectedHeader({ alg: BUNDLE_SIGNING_ALG, kid: key.kid, typ: BUNDLE_JWS_TYPE })
      .sign(key.privateKey);
  } catch (error) {
    throw new StepgateError(
      'key/invalid',
      `cannot sign the bundle with key ${key.kid}: ${describe(error)}`,
      undefined,
      { cause: error },
    );
  }
}

/**
 * Verifies a signed bundle and returns its payload. The signature must be EdDSA by the key
 * whose `kid` is in the header, `typ` must be `stepgate-bundle+jws`, the payload must pass
 * {@link bundlePayloadSchema}, and `bundleHash` must equal the hash of `policySet`.
 *
 * Downgrades are the caller's check: see {@link isNewerBundle}.
 *
 * @param keys the trusted public keys: a JWKS (matched by `kid`) or a resolver.
 * @throws BundleVerificationError with a {@link BundleVerificationFailure} `reason`.
 */
export async function verifyBundle(
  jws: string,
  keys: JSONWebKeySet | BundleKeyResolver,
): Promise<BundlePayload> {
  if (typeof jws !== 'string' || jws.split('.').length !== 3) {
    throw new BundleVerificationError('malformed', 'not a JWS compact serialization');
  }

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
  } catch (error) {
    throw new BundleVerificationError(
      'malformed',
      `unreadable protected header: ${describe(error)}`,
      undefined,
      { cause: error },
    );
  }
  if (header.alg !== BUNDLE_SIGNING_ALG) {
    throw new BundleVerificationError(
      'alg',
      `algorithm ${JSON.stringify(header.alg ?? null)} is not allowed (only ${BUNDLE_SIGNING_ALG})`,
      { alg: header.alg },
    );
  }
  if (header.typ !== BUNDLE_JWS_TYPE) {
    throw new BundleVerificationError(
      'typ',
      `type ${JSON.stringify(header.typ ?? null)} is not ${BUNDLE_JWS_TYPE}`,
      { typ: header.typ },
    );
  }
  const extra = Object.keys(header).filter((name) => !HEADER_MEMBERS.has(name));
  if (extra.length > 0) {
    throw new BundleVerificationError('header', `unexpected header members: ${extra.join(', ')}`);
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length === 0) {
    throw new BundleVerificationError('header', 'the header has no kid');
  }

  const key = await resolveKey(kid, keys);
  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(jws, key, {
      algorithms: [BUNDLE_SIGNING_ALG],
    }));
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new BundleVerificationError(
        'signature',
        `signature does not verify with key ${kid}`,
        { kid },
        { cause: error },
      );
    }
    if (error instanceof errors.JWSInvalid) {
      throw new BundleVerificationError('malformed', describe(error), { kid }, { cause: error });
    }
    throw new BundleVerificationError(
      'key',
      `key ${kid} cannot verify an ${BUNDLE_SIGNING_ALG} signature: ${describe(error)}`,
      { kid },
      { cause: error },
    );
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch (error) {
    throw new BundleVerificationError(
      'payload',
      `payload is not JSON: ${describe(error)}`,
      { kid },
      { cause: error },
    );
  }
  const parsed = bundlePayloadSchema.safeParse(json);
  if (!parsed.success) {
    throw new BundleVerificationError(
      'schema',
      `payload does not match ${BUNDLE_FORMAT}: ${z.prettifyError(parsed.error)}`,
      { kid, issues: parsed.error.issues },
    );
  }
  let actualHash: string;
  try {
    actualHash = await bundleHashOf(parsed.data.policySet);
  } catch (error) {
    // Only a pathological payload gets here (e.g. nesting deep enough to exhaust the stack).
    throw new BundleVerificationError(
      'payload',
      `the policy set cannot be hashed: ${describe(error)}`,
      { kid },
      { cause: error },
    );
  }
  if (actualHash !== parsed.data.bundleHash) {
    throw new BundleVerificationError('hash', 'bundleHash does not match the policy set', {
      kid,
      bundleHash: parsed.data.bundleHash,
      actual: actualHash,
    });
  }
  return parsed.data;
}

/**
 * The downgrade rule agents apply before using a verified bundle: accept it only when its
 * revision is strictly greater than the one held (of the same `kind`), or when none is held.
 *
 * A rollback does not relax this. Rollback is a re-activation: it gets a new, greater revision
 * whose `version` points at an older policy version, and says so with `rollback: true`. So an
 * old bundle replayed to an agent is always refused, signed or not, rollback or not.
 */
export function isNewerBundle(
  held: Pick<BundlePayload, 'revision'> | undefined,
  incoming: Pick<BundlePayload, 'revision' | 'rollback'>,
): boolean {
  return held === undefined || incoming.revision > held.revision;
}

/** The public key for `kid` from a trusted JWKS or resolver (Ed25519 only). */
export async function resolveKey(
  kid: string,
  keys: JSONWebKeySet | BundleKeyResolver,
): Promise<CryptoKey | KeyObject> {
  let found: BundleVerificationKey | undefined;
  if (typeof keys === 'function') {
    found = await keys(kid);
  } else {
    if (!Array.isArray(keys?.keys)) {
      throw new BundleVerificationError('key', 'the trusted key set is not a JWKS');
    }
    const matches = keys.keys.filter((jwk) => jwk?.kid === kid);
    if (matches.length > 1) {
      throw new BundleVerificationError(
        'key',
        `the trusted key set has ${matches.length} keys ${kid}`,
        {
          kid,
        },
      );
    }
    found = matches[0];
  }
  if (found === undefined) {
    throw new BundleVerificationError('unknown_kid', `signed by unknown key ${kid}`, { kid });
  }
  return isJwk(found) ? importPublicJwk(kid, found) : found;
}

function isJwk(key: BundleVerificationKey): key is JWK {
  // CryptoKey and KeyObject both have `type`; a JWK never does and always has `kty`.
  return !('type' in key) && 'kty' in key;
}

async function importPublicJwk(kid: string, jwk: JWK): Promise<CryptoKey> {
  const problem =
    jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519'
      ? `is ${jwk.kty ?? '?'}${jwk.crv ? `/${jwk.crv}` : ''}, not OKP/Ed25519`
      : typeof jwk.x !== 'string'
        ? 'has no x'
        : jwk.use !== undefined && jwk.use !== 'sig'
          ? `is for use ${jwk.use}, not sig`
          : jwk.alg !== undefined && jwk.alg !== BUNDLE_SIGNING_ALG && jwk.alg !== 'Ed25519'
            ? `is for alg ${jwk.alg}`
            : undefined;
  if (problem !== undefined) {
    throw new BundleVerificationError('key', `trusted key ${kid} ${problem}`, { kid });
  }
  try {
    // Only the public members: a trusted set must never turn a private `d` into the verifier.
    return await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, BUNDLE_SIGNING_ALG);
  } catch (error) {
    throw new BundleVerificationError(
      'key',
      `trusted key ${kid} cannot be imported: ${describe(error)}`,
      { kid },
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
