import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';

import type { BundleSigningKey } from './bundle.js';
import { StepgateError } from './errors.js';
import { toJwks, type BundleJwk, type BundleJwks, type Ed25519PublicJwk } from './keys.js';
import { signStatement, statementKid, verifyStatement } from './signed-statement.js';

/**
 * Key rotation as a signed key set. When the control plane starts with a new bundle-signing
 * key, the previous key signs an endorsement: a JWS over the key set that introduces the new
 * one. Agents add a key only when a chain of endorsements leads to it from a key they already
 * trust (A endorses B, B endorses C), never because a control plane listed it.
 */

export const KEYS_FORMAT = 'stepgate.keys/v1';
/** JWS `typ` of an endorsement (never mistaken for a bundle, grant or other statement). */
export const KEYS_JWS_TYPE = 'stepgate-keys+jws';
/** More endorsements than this in one message are ignored (a chain is one per rotation). */
export const MAX_ENDORSEMENTS = 64;

const publicKeySchema = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url Ed25519 public key'),
  kid: z.string().min(1).max(128),
  use: z.literal('sig'),
  alg: z.literal('EdDSA'),
});

/** The signed content of an endorsement: the keys the signer vouches for. */
export const keySetStatementSchema = z.strictObject({
  format: z.literal(KEYS_FORMAT),
  keys: z.array(publicKeySchema).min(1).max(16),
  issuedAt: z.iso.datetime({ offset: true }),
});
export type KeySetStatement = z.infer<typeof keySetStatementSchema>;

/** An endorsement a trusted key signed, verified. */
export interface VerifiedEndorsement {
  endorsedBy: string;
  keys: BundleJwk[];
  issuedAt: string;
}

/**
 * Signs the key set `keys` with `endorser` (typically the previous key and the new one).
 * @throws StepgateError `key/invalid` when a key is not an Ed25519 public key with its kid.
 */
export async function endorseKeys(
  keys: readonly Ed25519PublicJwk[],
  endorser: BundleSigningKey,
  issuedAt: Date = new Date(),
): Promise<string> {
  const statement: KeySetStatement = {
    format: KEYS_FORMAT,
    keys: toJwks(keys).keys,
    issuedAt: issuedAt.toISOString(),
  };
  const parsed = keySetStatementSchema.safeParse(statement);
  if (!parsed.success)
    throw new StepgateError('key/invalid', `cannot endorse the key set: ${parsed.error.message}`);
  for (const key of parsed.data.keys) await checkThumbprint(key);
  return signStatement(KEYS_JWS_TYPE, parsed.data, endorser);
}

/**
 * Verifies an endorsement with the trusted keys. Every key in it must carry its RFC 7638
 * thumbprint as kid, so one kid can never name two keys across endorsements.
 * @throws StepgateError `key/invalid` for anything but a valid endorsement by a trusted key.
 */
export async function verifyEndorsement(
  jws: unknown,
  trusted: BundleJwks,
): Promise<VerifiedEndorsement> {
  const { kid, payload } = await verifyStatement(jws, trusted, {
    typ: KEYS_JWS_TYPE,
    schema: keySetStatementSchema,
    refuse: refuseEndorsement,
  });
  for (const key of payload.keys) await checkThumbprint(key);
  return { endorsedBy: kid, keys: payload.keys, issuedAt: payload.issuedAt };
}

/** What walking the endorsements from the trusted keys gave. */
export interface TrustExtension {
  /** The trusted keys followed by the keys added, in the order they were reached. */
  keys: BundleJwk[];
  added: string[];
  /** The endorsements that added at least one key, in chain order (worth keeping). */
  used: string[];
  /** Kids an endorsement listed with a different key than the trusted one: not changed. */
  conflicts: string[];
  /** Why endorsements by a trusted kid were refused (bad signature, malformed...). */
  failures: string[];
  /** Endorsements no chain from a trusted key reached (signed by an unknown key). */
  unchained: number;
}

/**
 * Walks the endorsements from the keys already trusted: an endorsement signed by a trusted key
 * adds its keys, which may in turn verify further endorsements, in any order. Pure; the input
 * is untrusted (anything but a string is skipped, at most {@link MAX_ENDORSEMENTS} are read).
 */
export async function extendTrust(
  trusted: BundleJwks,
  endorsements: readonly unknown[],
): Promise<TrustExtension> {
  const keys = [...trusted.keys];
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  const result: TrustExtension = {
    keys,
    added: [],
    used: [],
    conflicts: [],
    failures: [],
    unchained: 0,
  };
  let pending = endorsements
    .slice(0, MAX_ENDORSEMENTS)
    .filter((item): item is string => typeof item === 'string');
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    const waiting: string[] = [];
    for (const jws of pending) {
      const kid = statementKid(jws);
      if (kid === undefined || !byKid.has(kid)) {
        waiting.push(jws);
        continue;
      }
      let endorsement: VerifiedEndorsement;
      try {
        endorsement = await verifyEndorsement(jws, { keys: [...byKid.values()] });
      } catch (error) {
        result.failures.push(error instanceof Error ? error.message : String(error));
        continue;
      }
      let added = false;
      for (const key of endorsement.keys) {
        const known = byKid.get(key.kid);
        if (known === undefined) {
          byKid.set(key.kid, key);
          keys.push(key);
          result.added.push(key.kid);
          added = true;
        } else if (known.x !== key.x && !result.conflicts.includes(key.kid)) {
          result.conflicts.push(key.kid);
        }
      }
      if (added) {
        result.used.push(jws);
        progress = true;
      }
    }
    pending = waiting;
  }
  result.unchained = pending.length;
  return result;
}

async function checkThumbprint(key: { kid: string; x: string }): Promise<void> {
  const thumbprint = await calculateJwkThumbprint(
    { kty: 'OKP', crv: 'Ed25519', x: key.x },
    'sha256',
  );
  if (thumbprint !== key.kid)
    throw refuseEndorsement(`key ${key.kid} is not named by its thumbprint ${thumbprint}`, {
      kid: key.kid,
    });
}

function refuseEndorsement(message: string, details?: Record<string, unknown>): StepgateError {
  return new StepgateError('key/invalid', `key endorsement refused: ${message}`, details);
}
