import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { JSONWebKeySet } from 'jose';
import type { z } from 'zod';

import { BUNDLE_SIGNING_ALG, resolveKey, type BundleSigningKey } from './bundle.js';
import { canonicalJson } from './canonical.js';
import type { StepgateError } from './errors.js';

/**
 * Small control-plane statements agents act on besides bundles and grants (a key set that
 * endorses a rotated key, a shadow clear, grant revocations): compact JWS over canonical JSON,
 * `{alg: EdDSA, kid, typ}`, signed with the bundle-signing key. Each statement has its own
 * `typ`, so one can never be replayed as another.
 */

/** How a statement's refusal is reported: the caller's own error type and code. */
export type StatementError = (message: string, details?: Record<string, unknown>) => StepgateError;

export interface StatementSpec<T> {
  typ: string;
  schema: z.ZodType<T>;
  /** Builds the error thrown for any refusal. */
  refuse: StatementError;
}

/** Signs a statement that already passed its schema. */
export async function signStatement(
  typ: string,
  payload: unknown,
  key: BundleSigningKey,
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
    .setProtectedHeader({ alg: BUNDLE_SIGNING_ALG, kid: key.kid, typ })
    .sign(key.privateKey);
}

/** The `kid` a statement claims to be signed by (unverified: only to pick the key). */
export function statementKid(jws: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === 'string' && kid !== '' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a statement against trusted keys: EdDSA only, the expected `typ`, no other header
 * members, a kid the key set holds, a valid signature, JSON that passes the schema.
 * @throws the spec's error for any refusal.
 */
export async function verifyStatement<T>(
  jws: unknown,
  keys: JSONWebKeySet,
  spec: StatementSpec<T>,
): Promise<{ kid: string; payload: T }> {
  if (typeof jws !== 'string' || jws.split('.').length !== 3)
    throw spec.refuse('not a JWS compact serialization');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw spec.refuse('unreadable protected header');
  }
  if (header.alg !== BUNDLE_SIGNING_ALG)
    throw spec.refuse(`algorithm ${JSON.stringify(header.alg ?? null)} is not allowed`);
  if (header.typ !== spec.typ)
    throw spec.refuse(`type ${JSON.stringify(header.typ ?? null)} is not ${spec.typ}`);
  const extra = Object.keys(header).filter((name) => !['alg', 'kid', 'typ'].includes(name));
  if (extra.length > 0) throw spec.refuse(`unexpected header members: ${extra.join(', ')}`);
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') throw spec.refuse('the header has no kid');
  let key: Awaited<ReturnType<typeof resolveKey>>;
  try {
    key = await resolveKey(kid, keys);
  } catch (error) {
    throw spec.refuse(error instanceof Error ? error.message : String(error), { kid });
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: [BUNDLE_SIGNING_ALG] }));
  } catch {
    throw spec.refuse(`signature does not verify with key ${kid}`, { kid });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw spec.refuse('payload is not JSON', { kid });
  }
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success)
    throw spec.refuse(
      `payload does not match: ${parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ')}`,
      { kid },
    );
  return { kid, payload: parsed.data };
}
