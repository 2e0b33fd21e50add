/**
 * Fleet tokens (not yet wired): an agent token created with an agent-id prefix may connect as
 * any agent id that starts with the prefix; each such id is bound to that token on its first
 * connect. These are the pure rules; the table of ids bound to a fleet token, the handshake and
 * the /v1/tokens route are still to be built on top of them.
 */

/** Same charset as agent ids (packages/protocol agentIdSchema); one char is left for the rest. */
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,127}$/;

export type PrefixProblem = { field: 'agentIdPrefix'; message: string };

/** Undefined when `prefix` is usable, else a problem naming the field (for a 400). */
export function prefixProblem(prefix: unknown): PrefixProblem | undefined {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    return { field: 'agentIdPrefix', message: 'agentIdPrefix must be a non-empty string' };
  }
  if (!PREFIX_PATTERN.test(prefix)) {
    return {
      field: 'agentIdPrefix',
      message:
        'agentIdPrefix must be 1-127 letters, digits, "_", ".", ":" or "-" (agent ids are at most 128)',
    };
  }
  return undefined;
}

/** Whether `agentId` is one a token with `prefix` may claim (a longer id, never the bare prefix). */
export function idUnderPrefix(prefix: string, agentId: string): boolean {
  return agentId.length > prefix.length && agentId.startsWith(prefix);
}

/**
 * Two prefixes overlap when one starts with the other: some id would then be claimable by both
 * tokens. The chosen rule is to refuse creating such a token (rather than first-come per id), so
 * which token may hold an id never depends on connect order.
 */
export function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/** Why a new fleet prefix is refused: a live prefix token or a single-id token's bound id. */
export type PrefixConflict =
  | { with: 'prefix_token'; tokenId: string; prefix: string }
  | { with: 'bound_id'; tokenId: string; agentId: string };

export function prefixConflict(
  prefix: string,
  livePrefixTokens: ReadonlyArray<{ id: string; prefix: string }>,
  boundSingleIds: ReadonlyArray<{ tokenId: string; agentId: string }>,
): PrefixConflict | undefined {
  const other = livePrefixTokens.find((t) => prefixesOverlap(prefix, t.prefix));
  if (other) return { with: 'prefix_token', tokenId: other.id, prefix: other.prefix };
  const bound = boundSingleIds.find((b) => idUnderPrefix(prefix, b.agentId));
  if (bound) return { with: 'bound_id', ...bound };
  return undefined;
}

export type FleetBinding =
  | { ok: true; agentId: string; firstConnect: boolean }
  | { ok: false; why: 'outside_prefix'; agentId: string; prefix: string }
  | { ok: false; why: 'id_bound'; agentId: string; boundTokenId: string };

/**
 * The binding decision for a fleet token claiming `agentId`, given which token (if any) holds
 * the id now: inside the prefix and unheld binds it; held by this token reconnects; held by
 * another token is refused (an id is never taken over).
 */
export function fleetBinding(
  token: { id: string; prefix: string },
  agentId: string,
  holderTokenId: string | undefined,
): FleetBinding {
  if (!idUnderPrefix(token.prefix, agentId)) {
    return { ok: false, why: 'outside_prefix', agentId, prefix: token.prefix };
  }
  if (holderTokenId === undefined) return { ok: true, agentId, firstConnect: true };
  if (holderTokenId === token.id) return { ok: true, agentId, firstConnect: false };
  return { ok: false, why: 'id_bound', agentId, boundTokenId: holderTokenId };
}
