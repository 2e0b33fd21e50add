/**
 * Only the public members of a JWK survive: bundles are readable by every agent, so a JWKS
 * that (by mistake or malice) carries private or symmetric material must not pass it on.
 */

const COMMON = ['kty', 'kid', 'use', 'alg', 'key_ops', 'x5c', 'x5t', 'x5t#S256'] as const;

/** The public members by key type; `oct` (a shared secret) has none and is dropped whole. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

/** The public part of `jwk`, or undefined when it is not a usable public signing key. */
export function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> | undefined {
  const kty = jwk.kty;
  if (typeof kty !== 'string') return undefined;
  const members = PUBLIC_MEMBERS[kty];
  if (!members) return undefined;
  // A key published for encryption cannot verify a token signature.
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  const kept: Record<string, unknown> = {};
  for (const name of [...COMMON, ...members]) {
    if (jwk[name] !== undefined) kept[name] = jwk[name];
  }
  return members.every((name) => typeof kept[name] === 'string') ? kept : undefined;
}

/** The public signing keys of a JWKS, in order. */
export function publicKeys(keys: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return keys.flatMap((key) => {
    const kept = publicJwk(key);
    return kept ? [kept] : [];
  });
}
