import { describe, expect, it } from 'vitest';
import { createTokenRequestSchema } from './admin-api.js';
import { agentIdPrefixSchema } from './agent-protocol.js';

/** The first problem zod reports, as the admin API's 400 shows it: `<path>: <message>`. */
function problem(body: unknown): string | undefined {
  const result = createTokenRequestSchema.safeParse(body);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
}

describe('agentIdPrefixSchema', () => {
  it('accepts the start of an agent id, separator included', () => {
    for (const prefix of ['node-', 'n', 'eu.node:', 'ci_runner-', 'a'.repeat(127)])
      expect(agentIdPrefixSchema.safeParse(prefix).success, prefix).toBe(true);
  });

  it('refuses empty, too long (no room left for an id) and characters agent ids cannot hold', () => {
    for (const prefix of ['', 'a'.repeat(128), 'node /', 'node*', 'nöde-', ' node-']) {
      const result = agentIdPrefixSchema.safeParse(prefix);
      expect(result.success, JSON.stringify(prefix)).toBe(false);
      expect(result.error!.issues[0]!.message).toMatch(
        /^agentIdPrefix must be 1-127 letters, digits, "_", ".", ":" or "-" .*e\.g\. "node-"/,
      );
    }
  });
});

describe('createTokenRequestSchema with agentIdPrefix', () => {
  it('takes a prefix on an agent token', () => {
    expect(
      createTokenRequestSchema.parse({
        name: 'daemonset',
        scopes: ['agent'],
        agentIdPrefix: 'node-',
      }),
    ).toEqual({ name: 'daemonset', scopes: ['agent'], agentIdPrefix: 'node-' });
  });

  it('names the field and the fix for each mistake', () => {
    expect(problem({ name: 'x', scopes: ['viewer'], agentIdPrefix: 'node-' })).toBe(
      'agentIdPrefix: only an agent-scoped token admits agent ids: add "agent" to scopes',
    );
    expect(
      problem({ name: 'x', scopes: ['agent'], agentId: 'node-a', agentIdPrefix: 'node-' }),
    ).toMatch(
      /^agentIdPrefix: give agentId \(a token for one agent\) or agentIdPrefix .* not both$/,
    );
    expect(problem({ name: 'x', scopes: ['agent'], agentIdPrefix: 'node /' })).toMatch(
      /^agentIdPrefix: agentIdPrefix must be 1-127/,
    );
    expect(problem({ name: 'x', scopes: ['agent'], agentIdPrefix: 7 })).toMatch(/^agentIdPrefix: /);
  });
});
