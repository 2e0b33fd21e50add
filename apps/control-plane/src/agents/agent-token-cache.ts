import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Principal } from '../auth/scopes.js';
import { hashToken, TokenService } from '../auth/token.service.js';

/**
 * How long an agent token, once accepted, is accepted again without a database lookup. A
 * revocation on this replica applies at once; on another replica, new agent connections with
 * the revoked token are still accepted for up to this long (sockets already open are not
 * re-checked on any replica, cached or not).
 */
export const AGENT_TOKEN_CACHE_MS = 30_000;
/** Entries kept at most (one per distinct agent token seen lately). */
const MAX_ENTRIES = 50_000;

/**
 * Authenticates agent handshakes. A reconnect storm presents the same few tokens thousands of
 * times a second: concurrent lookups of one token share one query, and accepted tokens are
 * remembered for AGENT_TOKEN_CACHE_MS. Refusals are never cached (a token created a moment ago
 * must work at once). Only the agent handshake uses this; HTTP requests look tokens up each time.
 */
@Injectable()
export class AgentTokenCache implements OnModuleDestroy {
  /** Keyed by the token's SHA-256, never the token itself. */
  private readonly accepted = new Map<string, { principal: Principal; until: number }>();
  private readonly inflight = new Map<string, Promise<Principal | undefined>>();
  private readonly unsubscribe: () => void;
  /** Bumped by each revocation here, so a lookup that raced one is not remembered. */
  private revocations = 0;

  constructor(private readonly tokens: TokenService) {
    this.unsubscribe = tokens.onRevoke((tokenId) => {
      this.revocations++;
      for (const [hash, entry] of this.accepted)
        if (entry.principal.tokenId === tokenId) this.accepted.delete(hash);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    if (!token || token.length > 512) return undefined;
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.accepted.get(hash);
    if (cached && cached.until > now) return cached.principal;
    let lookup = this.inflight.get(hash);
    if (!lookup) {
      const started = Date.now();
      const revocations = this.revocations;
      lookup = this.tokens.authenticate(token).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, lookup);
      const principal = await lookup;
      // Counted from when the lookup started: the revocation delay stays within the bound.
      if (principal && revocations === this.revocations)
        this.remember(hash, principal, started + AGENT_TOKEN_CACHE_MS);
      return principal;
    }
    return lookup;
  }

  private remember(hash: string, principal: Principal, until: number): void {
    if (this.accepted.size >= MAX_ENTRIES) {
      const now = Date.now();
      for (const [key, entry] of this.accepted) if (entry.until <= now) this.accepted.delete(key);
      // Still full of live entries: start over rather than grow without bound.
      if (this.accepted.size >= MAX_ENTRIES) this.accepted.clear();
    }
    this.accepted.set(hash, { principal, until });
  }
}
