/**
 * The rules of fleet tokens, pure: an agent token created with an agent-id prefix may connect as
 * any agent id that starts with the prefix (a DaemonSet's `node-<node name>`), and each such id
 * is bound to the token on its first connect. The prefix's syntax is `agentIdPrefixSchema` in
 * @stepgate/protocol; the table of bound ids and the locking are in FleetBindingService.
 */

/**
 * Limits of a transaction claiming an agent id: a DaemonSet rolling out on hundreds of nodes
 * binds that many ids at once, more than the connection pool serves within Prisma's default 2 s
 * (refused handshakes would only be retried, later).
 */
export const CLAIM_TRANSACTION = { maxWait: 15_000, timeout: 15_000 } as const;

/** Whether a token with `prefix` may claim `agentId`: a longer id, never the bare prefix. */
export function idUnderPrefix(prefix: string, agentId: string): boolean {
  return agentId.length > prefix.length && agentId.startsWith(prefix);
}

/** Two prefixes overlap when one starts with the other: some id would be claimable by both. */
export function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/**
 * The live fleet token a new prefix overlaps, if any. Such a token is refused at creation (rather
 * than letting both race for ids), so which token may hold an id never depends on connect order;
 * rotating a fleet token means revoking the old one first, as for a single-agent token.
 */
export function overlappingPrefix<T extends { prefix: string }>(
  prefix: string,
  liveFleetTokens: readonly T[],
): T | undefined {
  return liveFleetTokens.find((token) => prefixesOverlap(prefix, token.prefix));
}

/** A token holding an agent id now: a single-agent token's `agent_id`, or a `fleet_agent` row. */
export interface IdHolder {
  tokenId: string;
  revoked: boolean;
}

export type FleetClaim =
  | { ok: true; agentId: string; firstConnect: false }
  | {
      ok: true;
      agentId: string;
      firstConnect: true;
      /** The revoked token the id is taken from (audited as `releasedFrom`). */
      releasedFrom?: string;
    }
  | { ok: false; why: 'outside_prefix'; agentId: string; prefix: string }
  | { ok: false; why: 'id_bound'; agentId: string; boundTokenId: string };

/**
 * What a fleet token claiming `agentId` comes to, given who holds the id now: outside the
 * prefix is refused; held by this token is a reconnect; held by another live token (fleet or
 * single-agent) is refused, so a stolen fleet token cannot impersonate an agent another token
 * admitted; free, or held only by revoked tokens, binds it to this one.
 */
export function fleetClaim(
  token: { id: string; prefix: string },
  agentId: string,
  holders: { single: IdHolder | null; fleet: IdHolder | null },
): FleetClaim {
  if (!idUnderPrefix(token.prefix, agentId))
    return { ok: false, why: 'outside_prefix', agentId, prefix: token.prefix };
  if (holders.fleet?.tokenId === token.id) return { ok: true, agentId, firstConnect: false };
  for (const holder of [holders.single, holders.fleet])
    if (holder && !holder.revoked)
      return { ok: false, why: 'id_bound', agentId, boundTokenId: holder.tokenId };
  // Every path that binds an id releases the revoked holder it replaces: at most one is left.
  const released = holders.single ?? holders.fleet;
  return {
    ok: true,
    agentId,
    firstConnect: true,
    ...(released ? { releasedFrom: released.tokenId } : {}),
  };
}
