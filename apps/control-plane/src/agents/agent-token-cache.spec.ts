import { describe, expect, it } from 'vitest';
import type { Principal } from '../common/scopes.js';
import { hashToken, type AgentCredential, type TokenService } from '../auth/token.service.js';
import { AgentTokenCache } from './agent-token-cache.js';

const AGENT: Principal = { tokenId: 't1', name: 'fleet', subject: 'fleet', scopes: ['agent'] };
const credential = (principal: Principal, agentId: string | null = null): AgentCredential => ({
  principal,
  agentId,
});

/** A token store behind TokenService's interface: counts queries, revokes like the real one. */
function fakeTokens(known: Record<string, AgentCredential>) {
  const listeners = new Set<(tokenId: string) => void>();
  const revoked = new Set<string>();
  const queries: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  const byHash = () =>
    new Map(Object.entries(known).map(([token, value]) => [hashToken(token), value]));
  const service = {
    async credentialsByHash(hashes: readonly string[]) {
      queries.push(hashes.length);
      await gate;
      const all = byHash();
      const found = new Map<string, AgentCredential>();
      for (const hash of hashes) {
        const value = all.get(hash);
        if (value && !revoked.has(value.principal.tokenId)) found.set(hash, value);
      }
      return found;
    },
    onRevoke(listener: (tokenId: string) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    service: service as unknown as TokenService,
    /** Tokens per query, one entry per query. */
    queries,
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
    const tokens = fakeTokens({ sg_good: credential(AGENT) });
    const cache = new AgentTokenCache(tokens.service);
    const release = tokens.hold();
    const burst = Array.from({ length: 100 }, () => cache.authenticate('sg_good'));
    release();
    const answers = await Promise.all(burst);
    expect(new Set(answers.map((a) => a?.principal))).toEqual(new Set([AGENT]));
    expect((await cache.authenticate('sg_good'))?.principal).toBe(AGENT);
    expect(tokens.queries).toEqual([1]);
  });

  it('looks up a burst of distinct tokens (one per agent) in one query', async () => {
    const known: Record<string, AgentCredential> = {};
    for (let i = 0; i < 300; i++)
      known[`sg_agent_${i}`] = credential({ ...AGENT, tokenId: `t${i}` }, `agent-${i}`);
    const tokens = fakeTokens(known);
    const cache = new AgentTokenCache(tokens.service);
    const answers = await Promise.all(Object.keys(known).map((token) => cache.authenticate(token)));
    expect(answers.map((a) => a?.agentId)).toEqual(Object.values(known).map((c) => c.agentId));
    expect(tokens.queries).toEqual([300]);
    expect(await cache.authenticate('sg_unknown')).toBeUndefined();
  });

  it('never remembers a refusal: a token unknown a moment ago may exist now', async () => {
    const known: Record<string, AgentCredential> = {};
    const tokens = fakeTokens(known);
    const cache = new AgentTokenCache(tokens.service);
    expect(await cache.authenticate('sg_new')).toBeUndefined();
    known['sg_new'] = credential(AGENT);
    expect((await cache.authenticate('sg_new'))?.principal).toBe(AGENT);
  });

  it('remembers the agent id a token was just bound to', async () => {
    const tokens = fakeTokens({ sg_good: credential(AGENT) });
    const cache = new AgentTokenCache(tokens.service);
    expect((await cache.authenticate('sg_good'))?.agentId).toBeNull();
    cache.bound('sg_good', 'web-1');
    expect((await cache.authenticate('sg_good'))?.agentId).toBe('web-1');
    expect(tokens.queries).toEqual([1]);
  });

  it('remembers the ids a fleet token was found bound to, until the token is revoked', async () => {
    const fleet = { ...credential(AGENT), agentIdPrefix: 'node-' };
    const tokens = fakeTokens({ sg_fleet: fleet });
    const cache = new AgentTokenCache(tokens.service);
    // Not accepted yet: nothing to remember it on.
    cache.fleetBound('sg_fleet', 'node-a');
    expect(cache.fleetIdBound('sg_fleet', 'node-a')).toBe(false);
    expect(await cache.authenticate('sg_fleet')).toEqual(fleet);
    cache.fleetBound('sg_fleet', 'node-a');
    cache.fleetBound('sg_fleet', 'node-b');
    expect(['node-a', 'node-b', 'node-c'].map((id) => cache.fleetIdBound('sg_fleet', id))).toEqual([
      true,
      true,
      false,
    ]);
    expect(cache.fleetIdBound('sg_other', 'node-a')).toBe(false);
    tokens.revoke('t1');
    expect(cache.fleetIdBound('sg_fleet', 'node-a')).toBe(false);
  });

  it('forgets a token revoked on this replica at once, even one being looked up meanwhile', async () => {
    const tokens = fakeTokens({ sg_good: credential(AGENT) });
    const cache = new AgentTokenCache(tokens.service);
    expect(await cache.authenticate('sg_good')).toBeDefined();
    tokens.revoke('t1');
    expect(await cache.authenticate('sg_good')).toBeUndefined();

    // A lookup racing a revocation is answered, but not remembered.
    const other: Principal = { ...AGENT, tokenId: 't2' };
    const racing = fakeTokens({ sg_other: credential(other) });
    const raced = new AgentTokenCache(racing.service);
    const release = racing.hold();
    const answer = raced.authenticate('sg_other');
    racing.revoke('t9'); // any revocation: the lookup may have read the row before it
    release();
    await answer;
    await raced.authenticate('sg_other');
    expect(racing.queries).toEqual([1, 1]);
  });

  it('forgets a token revoked on another replica when told', async () => {
    const tokens = fakeTokens({ sg_good: credential(AGENT) });
    const cache = new AgentTokenCache(tokens.service);
    await cache.authenticate('sg_good');
    cache.forget('t1');
    await cache.authenticate('sg_good');
    expect(tokens.queries).toEqual([1, 1]);
  });
});
