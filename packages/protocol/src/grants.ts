import { base64url, CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';

import { resolveKey, type BundleKeyResolver, type BundleSigningKey } from './bundle.js';
import { canonicalJson } from './canonical.js';
import { StepgateError } from './errors.js';
import { grantPatternsSchema } from './grant-scope.js';
import { signStatement, verifyStatement } from './signed-statement.js';

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
  /**
   * Glob patterns (the policy language's globs) the request's action must match; within
   * GRANT_SCOPE_LIMITS, so an agent refuses a grant too costly to match.
   */
  actions: grantPatternsSchema('actions'),
  /** Glob patterns the request's resource id must match (same limits). */
  resources: grantPatternsSchema('resources'),
  /**
   * The resource kind the request's resource must have, exactly: an approval grant carries the
   * kind of the resource that was approved (see {@link grantAppliesToKind}).
   */
  resourceKind: z.string().min(1).max(512).optional(),
  issuedAt: isoDateTime,
  expiresAt: isoDateTime,
});
export type GrantClaims = z.infer<typeof grantClaimsSchema>;

/**
 * Whether a grant applies to a resource of `kind` (its action and resource-id globs are matched
 * besides). A grant naming a kind applies to that kind only. An approval grant without one
 * applies to none: an approval is for one exact action on one exact resource, kind included,
 * and approval grants signed before kinds were (short-lived) must not stretch to every kind of
 * resource sharing the id. An elevation grant without one applies to every kind (its scope is
 * globs over actions and ids).
 */
export function grantAppliesToKind(
  claims: Pick<GrantClaims, 'kind' | 'resourceKind'>,
  kind: string,
): boolean {
  if (claims.resourceKind !== undefined) return claims.resourceKind === kind;
  return claims.kind !== 'approval';
}

/**
 * Control plane -> agent: grants to add and grant ids revoked. `full: true` (sent on connect)
 * replaces everything the agent holds. Every grant is verified by the agent, and so is every
 * removal: `revoked` and `full` take effect only as stated in `revocation`, a statement signed
 * with the bundle-signing key (see {@link signGrantsMessage}); without it, or when it says
 * something else, the agent adds the grants and removes nothing. Otherwise anyone who can reach
 * an agent as its control plane could strip every grant (people asked to step up again, and
 * approvals lost).
 */
export const grantsMessageSchema = z.strictObject({
  full: z.boolean(),
  grants: z.array(z.string().min(1).max(16_384)).max(10_000),
  revoked: z.array(z.uuid()).max(10_000),
  revocation: z.string().min(1).max(1_000_000).optional(),
});
export type GrantsMessage = z.infer<typeof grantsMessageSchema>;

export const GRANT_REVOCATION_FORMAT = 'stepgate.grant-revocation/v1';
/** JWS `typ` of a signed revocation statement. */
export const GRANT_REVOCATION_JWS_TYPE = 'stepgate-grant-revocation+jws';

/** The signed content of a revocation statement. */
const grantRevocationSchema = z.strictObject({
  format: z.literal(GRANT_REVOCATION_FORMAT),
  revoked: z.array(z.uuid()).max(10_000),
  /**
   * On a full set only: the ids of every grant in force. A grant issued before `issuedAt` and
   * not listed is gone; one issued later is kept (an old full set replayed removes nothing new).
   */
  current: z.array(z.uuid()).max(10_000).optional(),
  issuedAt: isoDateTime,
});

/** The removals a grants message may make, as the control plane signed them. */
export interface GrantRemovals {
  revoked: string[];
  /** Full sets only: the grants in force, and when that was read. */
  current?: { ids: ReadonlySet<string>; asOfMs: number };
}

/**
 * Builds a grants message, signing what it removes: `full` (the grants are every grant in
 * force, read at `readAt`) and `revoked`. A message that only adds grants carries no statement.
 */
export async function signGrantsMessage(
  change: { full: boolean; grants: string[]; revoked: string[] },
  key: BundleSigningKey,
  readAt: Date = new Date(),
): Promise<GrantsMessage> {
  const message: GrantsMessage = {
    full: change.full,
    grants: change.grants,
    revoked: change.revoked,
  };
  if (!change.full && change.revoked.length === 0) return message;
  const statement = grantRevocationSchema.parse({
    format: GRANT_REVOCATION_FORMAT,
    revoked: change.revoked,
    ...(change.full ? { current: change.grants.map(grantIdOf) } : {}),
    issuedAt: readAt.toISOString(),
  });
  message.revocation = await signStatement(GRANT_REVOCATION_JWS_TYPE, statement, key);
  return message;
}

/**
 * The removals of a grants message, verified: the statement must be signed by a trusted key
 * and state exactly the message's `full` and `revoked`.
 * @throws GrantVerificationError when a removal is unsigned, forged or does not match.
 */
export async function verifyGrantRemovals(
  message: GrantsMessage,
  keys: JSONWebKeySet,
): Promise<GrantRemovals> {
  if (!message.full && message.revoked.length === 0) return { revoked: [] };
  if (message.revocation === undefined)
    throw new GrantVerificationError(
      `unsigned ${message.full ? 'full set' : 'revocation'}: nothing removed`,
    );
  const { payload } = await verifyStatement(message.revocation, keys, {
    typ: GRANT_REVOCATION_JWS_TYPE,
    schema: grantRevocationSchema,
    refuse: (text, details) => new GrantVerificationError(`revocation statement: ${text}`, details),
  });
  const stated = new Set(payload.revoked);
  if (
    stated.size !== new Set(message.revoked).size ||
    message.revoked.some((id) => !stated.has(id))
  )
    throw new GrantVerificationError('the revoked ids differ from the signed statement');
  if (message.full !== (payload.current !== undefined))
    throw new GrantVerificationError(
      message.full
        ? 'a full set without a signed list of current grants'
        : 'the statement is a full set, the message is not',
    );
  const removals: GrantRemovals = { revoked: payload.revoked };
  if (payload.current !== undefined)
    removals.current = { ids: new Set(payload.current), asOfMs: Date.parse(payload.issuedAt) };
  return removals;
}

/** A grant's id from its JWS, unverified: only for grants the caller signed itself. */
function grantIdOf(jws: string): string {
  const payload = jws.split('.')[1] ?? '';
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as {
    id?: unknown;
  };
  if (typeof claims.id !== 'string')
    throw new StepgateError('request/invalid', 'a grant in the set has no id');
  return claims.id;
}

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
