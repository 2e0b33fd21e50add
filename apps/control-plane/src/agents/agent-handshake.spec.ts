import { describe, expect, it } from 'vitest';
import type { Principal } from '../common/scopes.js';
import type { AgentBinding, AgentCredential } from '../auth/token.service.js';
import { authenticateHandshake, type HandshakeIdentity } from './agent-handshake.js';

const TOKEN = 'sg_agent-token-value';
const principal = (scopes: Principal['scopes']): Principal => ({
  tokenId: 't1',
  name: 'fleet',
  subject: 'fleet',
  scopes,
});

/** A token store holding TOKEN with these scopes, bound to `agentId` (null: not yet). */
function identity(
  scopes: Principal['scopes'],
  agentId: string | null = null,
  bind: (agentId: string) => AgentBinding = (id) => ({ ok: true, agentId: id }),
): HandshakeIdentity & { binds: string[] } {
  const binds: string[] = [];
  return {
    binds,
    async authenticate(token: string): Promise<AgentCredential | undefined> {
      return token === TOKEN ? { principal: principal(scopes), agentId } : undefined;
    },
    async bind(_token, _credential, id) {
      binds.push(id);
      return bind(id);
    },
  };
}

describe('authenticateHandshake', () => {
  it('accepts an agent-scoped (or admin) token with defaults for labels and revisions', async () => {
    for (const scopes of [['agent'], ['admin']] as Principal['scopes'][]) {
      const result = await authenticateHandshake(
        { token: TOKEN, agentId: 'web-1' },
        identity(scopes),
      );
      expect(result).toEqual({
        ok: true,
        credential: { principal: principal(scopes), agentId: null },
        handshake: { token: TOKEN, agentId: 'web-1', labels: {}, revisions: {}, dataRevision: 0 },
      });
    }
  });

  it('refuses unknown tokens and tokens without the agent scope', async () => {
    expect(
      await authenticateHandshake({ token: 'sg_wrong', agentId: 'web-1' }, identity(['agent'])),
    ).toEqual({
      ok: false,
      code: 'auth/unauthenticated',
      message: 'invalid or revoked token',
      agentId: 'web-1',
    });
    const viewer = identity(['viewer', 'operator']);
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, viewer)).toMatchObject({
      ok: false,
      code: 'auth/forbidden',
    });
    // Refused before anything is bound.
    expect(viewer.binds).toEqual([]);
  });

  it('binds a token not bound yet to the id it claims', async () => {
    const store = identity(['agent']);
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, store)).toMatchObject({
      ok: true,
    });
    expect(store.binds).toEqual(['web-1']);
  });

  it('accepts a bound token as its own id without binding (no query)', async () => {
    const store = identity(['agent'], 'web-1');
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, store)).toMatchObject({
      ok: true,
    });
    expect(store.binds).toEqual([]);
  });

  it('refuses a bound token claiming another id, without asking the store', async () => {
    const store = identity(['agent'], 'web-1');
    const result = await authenticateHandshake({ token: TOKEN, agentId: 'web-2' }, store);
    expect(result).toMatchObject({
      ok: false,
      code: 'auth/forbidden',
      agentId: 'web-2',
      identity: { refusal: { why: 'token_bound', agentId: 'web-2', boundAgentId: 'web-1' } },
    });
    expect(result.ok === false && result.message).toMatch(
      /^this token is bound to agent id "web-1"; it cannot connect as "web-2"/,
    );
    expect(store.binds).toEqual([]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('refuses an id bound to another token, and a token revoked while binding', async () => {
    const taken = identity(['agent'], null, (agentId) => ({
      ok: false,
      why: 'id_bound',
      agentId,
      boundTokenId: 't0',
    }));
    const result = await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, taken);
    expect(result).toMatchObject({
      ok: false,
      code: 'auth/forbidden',
      identity: { refusal: { why: 'id_bound', boundTokenId: 't0' } },
    });
    expect(result.ok === false && result.message).toMatch(
      /^agent id "web-1" is bound to another agent token/,
    );
    const revoked = identity(['agent'], null, (agentId) => ({
      ok: false,
      why: 'revoked',
      agentId,
    }));
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, revoked)).toMatchObject({
      ok: false,
      code: 'auth/unauthenticated',
    });
  });

  it('binds each id under a fleet token prefix, and refuses one outside it without a query', async () => {
    const binds: string[] = [];
    const fleet: HandshakeIdentity = {
      authenticate: async (token) =>
        token === TOKEN
          ? { principal: principal(['agent']), agentId: null, agentIdPrefix: 'node-' }
          : undefined,
      bind: async (_token, _credential, agentId) => {
        binds.push(agentId);
        return { ok: true, agentId };
      },
    };
    for (const agentId of ['node-a', 'node-b', 'node-a'])
      expect(await authenticateHandshake({ token: TOKEN, agentId }, fleet)).toMatchObject({
        ok: true,
        handshake: { agentId },
      });
    expect(binds).toEqual(['node-a', 'node-b', 'node-a']);

    for (const agentId of ['other-x', 'node-', 'nodes-a']) {
      const result = await authenticateHandshake({ token: TOKEN, agentId }, fleet);
      expect(result, agentId).toMatchObject({
        ok: false,
        code: 'auth/forbidden',
        reason: 'outside_prefix',
        identity: { refusal: { why: 'outside_prefix', agentId, prefix: 'node-' } },
      });
      expect(result.ok === false && result.message).toContain(
        `this fleet token admits agent ids starting with "node-" only; it cannot connect as "${agentId}"`,
      );
    }
    expect(binds).toHaveLength(3);
  });

  it('refuses malformed handshakes without echoing the token', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'auth/unauthenticated'],
      [{ agentId: 'web-1' }, 'auth/unauthenticated'],
      [{ token: TOKEN }, 'request/invalid'],
      [{ token: TOKEN, agentId: 'no spaces please' }, 'request/invalid'],
      [{ token: TOKEN, agentId: 'web-1', extra: 1 }, 'request/invalid'],
      [{ token: TOKEN, agentId: 'web-1', labels: { 'bad key!': 'x' } }, 'request/invalid'],
    ];
    for (const [auth, code] of cases) {
      const result = await authenticateHandshake(auth, identity(['agent']));
      expect(result, JSON.stringify(auth)).toMatchObject({ ok: false, code });
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    }
  });

  it('reports an unavailable token store as retryable, when authenticating or binding', async () => {
    const down: HandshakeIdentity = {
      authenticate: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      bind: async () => {
        throw new Error('unreachable');
      },
    };
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, down)).toMatchObject({
      ok: false,
      code: 'service/unavailable',
    });
    const bindDown: HandshakeIdentity = {
      authenticate: async () => ({ principal: principal(['agent']), agentId: null }),
      bind: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    expect(await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, bindDown)).toMatchObject(
      { ok: false, code: 'service/unavailable' },
    );
  });
});
