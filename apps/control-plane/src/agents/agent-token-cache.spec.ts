import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/scopes.js';
import type { TokenService } from '../auth/token.service.js';
import { AgentTokenCache } from './agent-token-cache.js';

const AGENT: Principal = { tokenId: 't1', name: 'fleet', subject: 'fleet', scopes: ['agent'] };

/** A token store behind TokenService's interface: counts lookups, revokes like the real one. */
function fakeTokens(known: Record<string, Principal>) {
  const listeners = new Set<(tokenId: string) => void>();
  const revoked = new Set<string>();
  let lookups = 0;
  let gate: Promise<void> = Promise.resolve();
  const service = {
    async authenticate(token: string) {
      lookups++;
      await gate;
      const principal = known[token];
      return principal && !revoked.has(principal.tokenId) ? principal : undefined;
    },
    onRevoke(listener: (tokenId: string) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    service: service as unknown as TokenService,
    lookups: () => lookups,
    revoke(tokenId: string) {
      revoked.add(tokenId);
      for (const listener of listeners) listener(tokenId);
    },
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => release();
    },
  };
}

describe('AgentTokenCache', () => {
  it('looks a token up once for a burst of concurrent handshakes and for 30 s after', async () => {
    const tokens = fakeTokens({ sg_good: AGENT });
    const cache = new AgentTokenCache(tokens.service);
    const release = tokens.hold();
    const burst = Array.from({ length: 100 }, () => cache.authenticate('sg_good'));
    release();
    expect(new Set(await Promise.all(burst))).toEqual(new Set([AGENT]));
    expect(await cache.authenticate('sg_good')).toBe(AGENT);
    expect(tokens.lookups()).toBe(1);
  });

  it('never remembers a refusal: a token unknown a moment ago may exist now', async () => {
    const known: Record<string, Principal> = {};
    const tokens = fakeTokens(known);
    const cache = new AgentTokenCache(tokens.service);
    expect(await cache.authenticate('sg_new')).toBeUndefined();
    known['sg_new'] = AGENT;
    expect(await cache.authenticate('sg_new')).toBe(AGENT);
  });

  it('forgets a token revoked on this replica at once, even one being looked up meanwhile', async () => {
    const tokens = fakeTokens({ sg_good: AGENT });
    const cache = new AgentTokenCache(tokens.service);
    expect(await cache.authenticate('sg_good')).toBe(AGENT);
    tokens.revoke('t1');
    expect(await cache.authenticate('sg_good')).toBeUndefined();

    // A lookup racing a revocation is answered, but not remembered.
    const other: Principal = { ...AGENT, tokenId: 't2' };
    const racing = fakeTokens({ sg_other: other });
    const raced = new AgentTokenCache(racing.service);
    const release = racing.hold();
    const answer = raced.authenticate('sg_other');
    racing.revoke('t9'); // any revocation: the lookup may have read the row before it
    release();
    await answer;
    await raced.authenticate('sg_other');
    expect(racing.lookups()).toBe(2);
  });
});
