import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/scopes.js';
import { authenticateHandshake } from './agent-handshake.js';

const TOKEN = 'sg_agent-token-value';
const principal = (scopes: Principal['scopes']): Principal => ({
  tokenId: 't1',
  name: 'fleet',
  scopes,
});
const tokens =
  (scopes: Principal['scopes']) =>
  async (token: string): Promise<Principal | undefined> =>
    token === TOKEN ? principal(scopes) : undefined;

describe('authenticateHandshake', () => {
  it('accepts an agent-scoped (or admin) token with defaults for labels and revisions', async () => {
    for (const scopes of [['agent'], ['admin']] as Principal['scopes'][]) {
      const result = await authenticateHandshake(
        { token: TOKEN, agentId: 'web-1' },
        tokens(scopes),
      );
      expect(result).toEqual({
        ok: true,
        principal: principal(scopes),
        handshake: { token: TOKEN, agentId: 'web-1', labels: {}, revisions: {} },
      });
    }
  });

  it('refuses unknown tokens and tokens without the agent scope', async () => {
    expect(
      await authenticateHandshake({ token: 'sg_wrong', agentId: 'web-1' }, tokens(['agent'])),
    ).toEqual({
      ok: false,
      code: 'auth/unauthenticated',
      message: 'invalid or revoked token',
      agentId: 'web-1',
    });
    expect(
      await authenticateHandshake(
        { token: TOKEN, agentId: 'web-1' },
        tokens(['viewer', 'operator']),
      ),
    ).toMatchObject({ ok: false, code: 'auth/forbidden' });
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
      const result = await authenticateHandshake(auth, tokens(['agent']));
      expect(result, JSON.stringify(auth)).toMatchObject({ ok: false, code });
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    }
  });

  it('reports an unavailable token store as retryable', async () => {
    const result = await authenticateHandshake({ token: TOKEN, agentId: 'web-1' }, async () => {
      throw new Error('connect ECONNREFUSED');
    });
    expect(result).toMatchObject({ ok: false, code: 'service/unavailable' });
  });
});
