import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';

import { resolveKey, type BundleKeyResolver, type BundleSigningKey } from './bundle.js';
import { canonicalJson } from './canonical.js';
import { StepgateError } from './errors.js';

/**
 * Grants: what a successful elevation (TOTP, WebAuthn) or a completed approval request turns
 * into. The control plane signs them with its bundle-signing key (same kid, same JWKS) and
 * pushes them to agents, which honour them in decisions for the grant's subject, within its
 * scope and until it expires or is revoked.
 */

export const GRANT_FORMAT = 'stepgate.grant/v1';
/** JWS `typ` header of a signed grant (a bundle JWS can never be mistaken for one). */
export const GRANT_JWS_TYPE = 'stepgate-grant+jws';

const isoDateTime = z.iso.datetime({ offset: true });
const pattern = z.string().min(1).max(512);

/** The signed content of a grant. */
export const grantClaimsSchema = z.strictObject({
  format: z.literal(GRANT_FORMAT),
  id: z.uuid(),
  /** The principal id the grant is for (a kubectl username, a CLI token's subject). */
  subject: z.string().min(1).max(256),
  /** `elevation`: the subject proved a factor; `approval`: other people approved a request. */
  kind: z.enum(['elevation', 'approval']),
  /** Authentication methods proven (RFC 8176: `otp`, `hwk`, `user`...); map to a level via the bundle's levels. */
  amr: z.array(z.string().min(1).max(64)).max(16),
  /** An explicit level name, when the issuer chose one. */
  level: z.string().min(1).max(64).optional(),
  /** When the subject authenticated (elevations) or the request was approved (approvals). */
  authTime: isoDateTime,
  /** Approvers' principal ids (approval grants). */
  approvals: z.array(z.string().min(1).max(256)).max(64),
  /** Glob patterns (the policy language's globs) the request's action must match. */
  actions: z.array(pattern).min(1).max(64),
  /** Glob patterns the request's resource id must match. */
  resources: z.array(pattern).min(1).max(64),
  issuedAt: isoDateTime,
  expiresAt: isoDateTime,
});
export type GrantClaims = z.infer<typeof grantClaimsSchema>;

/**
 * Control plane -> agent: grants to add and grant ids revoked. `full: true` (sent on connect)
 * replaces everything the agent holds. Every grant is verified by the agent; revocations are
 * not signed on purpose: the worst a forged one can do is make the agent ask for step-up again.
 */
export const grantsMessageSchema = z.strictObject({
  full: z.boolean(),
  grants: z.array(z.string().min(1).max(16_384)).max(10_000),
  revoked: z.array(z.uuid()).max(10_000),
});
export type GrantsMessage = z.infer<typeof grantsMessageSchema>;

/** A grant was refused by {@link verifyGrant}. */
export class GrantVerificationError extends StepgateError {
  override name = 'GrantVerificationError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('grant/invalid', `grant refused: ${message}`, details);
  }
}

/** Signs grant claims: JWS compact, `{alg: EdDSA, kid, typ: stepgate-grant+jws}`, canonical JSON. */
export async function signGrant(claims: GrantClaims, key: BundleSigningKey): Promise<string> {
  const parsed = grantClaimsSchema.safeParse(claims);
  if (!parsed.success)
    throw new StepgateError(
      'request/invalid',
      `grant claims are invalid: ${z.prettifyError(parsed.error)}`,
    );
  return new CompactSign(new TextEncoder().encode(canonicalJson(parsed.data)))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: GRANT_JWS_TYPE })
    .sign(key.privateKey);
}

/**
 * Verifies a signed grant with the trusted bundle-signing keys and returns its claims.
 * Expiry is not checked here (the caller holds the clock): see {@link isGrantCurrent}.
 * @throws GrantVerificationError for anything but a well-formed grant signed by a trusted key.
 */
export async function verifyGrant(
  jws: string,
  keys: JSONWebKeySet | BundleKeyResolver,
): Promise<GrantClaims> {
  if (typeof jws !== 'string' || jws.split('.').length !== 3)
    throw new GrantVerificationError('not a JWS compact serialization');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw new GrantVerificationError('unreadable protected header');
  }
  if (header.alg !== 'EdDSA')
    throw new GrantVerificationError(
      `algorithm ${JSON.stringify(header.alg ?? null)} is not allowed`,
    );
  if (header.typ !== GRANT_JWS_TYPE)
    throw new GrantVerificationError(
      `type ${JSON.stringify(header.typ ?? null)} is not ${GRANT_JWS_TYPE}`,
    );
  const extra = Object.keys(header).filter((name) => !['alg', 'kid', 'typ'].includes(name));
  if (extra.length > 0)
    throw new GrantVerificationError(`unexpected header members: ${extra.join(', ')}`);
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '')
    throw new GrantVerificationError('the header has no kid');
  let key: Awaited<ReturnType<typeof resolveKey>>;
  try {
    key = await resolveKey(kid, keys);
  } catch (error) {
    throw new GrantVerificationError(error instanceof Error ? error.message : String(error), {
      kid,
    });
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, {
      algorithms: ['EdDSA'],
    }));
  } catch {
    throw new GrantVerificationError(`signature does not verify with key ${kid}`, { kid });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new GrantVerificationError('payload is not JSON', { kid });
  }
  const parsed = grantClaimsSchema.safeParse(json);
  if (!parsed.success)
    throw new GrantVerificationError(
      `payload does not match ${GRANT_FORMAT}: ${z.prettifyError(parsed.error)}`,
      {
        kid,
      },
    );
  return parsed.data;
}

/** Whether a grant is in force at `nowMs` (issued, not yet expired). */
export function isGrantCurrent(
  claims: Pick<GrantClaims, 'issuedAt' | 'expiresAt'>,
  nowMs: number,
): boolean {
  // A minute of skew on issue: the control plane's clock may run ahead of the agent's.
  return Date.parse(claims.issuedAt) - 60_000 <= nowMs && nowMs < Date.parse(claims.expiresAt);
}
