import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { hashToken, TokenService, type AgentCredential } from '../auth/token.service.js';

/**
 * How long an agent token, once accepted, is accepted again without a database lookup. A
 * revocation on any replica applies at once on this one too when the Redis adapter carries the
 * word (see AgentGateway); if it cannot, new agent connections with the revoked token are still
 * accepted here for up to this long.
 */
export const AGENT_TOKEN_CACHE_MS = 30_000;
/** Entries kept at most (one per distinct agent token seen lately). */
const MAX_ENTRIES = 50_000;
/** Lookups of distinct tokens wait this long for company: one query for a burst of them... */
const GATHER_LOOKUPS_MS = 5;
/** ...of at most this many tokens. */
const MAX_LOOKUP_BATCH = 500;

interface Waiting {
  resolve: (credential: AgentCredential | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Authenticates agent handshakes. With one token per agent, a reconnect storm presents
 * thousands of distinct tokens a second: lookups gathered over a few milliseconds share one
 * query, concurrent lookups of one token share one promise, and accepted tokens are remembered
 * for AGENT_TOKEN_CACHE_MS together with the agent id they are bound to, so a bound agent
 * reconnecting costs no query at all. Refusals are never cached (a token created a moment ago
 * must work at once). Only the agent handshake uses this; HTTP requests look tokens up each time.
 */
@Injectable()
export class AgentTokenCache implements OnModuleDestroy {
  /** Keyed by the token's SHA-256, never the token itself. */
  private readonly accepted = new Map<
    string,
    { credential: AgentCredential; until: number; fleetIds?: Set<string> }
  >();
  private readonly inflight = new Map<string, Promise<AgentCredential | undefined>>();
  private batch = new Map<string, Waiting>();
  private batchTimer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  /** Bumped by each revocation here, so a lookup that raced one is not remembered. */
  private revocations = 0;

  constructor(private readonly tokens: TokenService) {
    this.unsubscribe = tokens.onRevoke((tokenId) => this.forget(tokenId));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    clearTimeout(this.batchTimer);
  }

  async authenticate(token: string): Promise<AgentCredential | undefined> {
    if (!token || token.length > 512) return undefined;
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.accepted.get(hash);
    if (cached && cached.until > now) return cached.credential;
    let lookup = this.inflight.get(hash);
    if (!lookup) {
      const started = Date.now();
      const revocations = this.revocations;
      lookup = this.lookup(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, lookup);
      const credential = await lookup;
      // Counted from when the lookup started: the revocation delay stays within the bound.
      if (credential && revocations === this.revocations)
        this.remember(hash, credential, started + AGENT_TOKEN_CACHE_MS);
      return credential;
    }
    return lookup;
  }

  /** The token was just bound to `agentId`: its next handshakes need no query to check it. */
  bound(token: string, agentId: string): void {
    const entry = this.accepted.get(hashToken(token));
    if (entry) entry.credential = { ...entry.credential, agentId };
  }

  /** A fleet token was found bound to `agentId`: its next handshakes as it need no query. */
  fleetBound(token: string, agentId: string): void {
    const entry = this.accepted.get(hashToken(token));
    if (entry) (entry.fleetIds ??= new Set()).add(agentId);
  }

  /** Whether this fleet token, still accepted here, was lately found bound to `agentId`. */
  fleetIdBound(token: string, agentId: string): boolean {
    const entry = this.accepted.get(hashToken(token));
    return entry !== undefined && entry.until > Date.now() && entry.fleetIds?.has(agentId) === true;
  }

  /** Drops a revoked token (revoked here, or on another replica). */
  forget(tokenId: string): void {
    this.revocations++;
    for (const [hash, entry] of this.accepted)
      if (entry.credential.principal.tokenId === tokenId) this.accepted.delete(hash);
  }

  private lookup(hash: string): Promise<AgentCredential | undefined> {
    return new Promise((resolve, reject) => {
      this.batch.set(hash, { resolve, reject });
      if (this.batch.size >= MAX_LOOKUP_BATCH) this.flush();
      else this.batchTimer ??= setTimeout(() => this.flush(), GATHER_LOOKUPS_MS);
    });
  }

  private flush(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const batch = this.batch;
    this.batch = new Map();
    this.tokens.credentialsByHash([...batch.keys()]).then(
      (found) => {
        for (const [hash, waiting] of batch) waiting.resolve(found.get(hash));
      },
      (error: unknown) => {
        for (const waiting of batch.values()) waiting.reject(error);
      },
    );
  }

  private remember(hash: string, credential: AgentCredential, until: number): void {
    if (this.accepted.size >= MAX_ENTRIES) {
      const now = Date.now();
      for (const [key, entry] of this.accepted) if (entry.until <= now) this.accepted.delete(key);
      // Still full of live entries: start over rather than grow without bound.
      if (this.accepted.size >= MAX_ENTRIES) this.accepted.clear();
    }
    this.accepted.set(hash, { credential, until });
  }
}
