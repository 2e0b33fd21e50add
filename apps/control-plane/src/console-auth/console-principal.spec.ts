import { SCOPE_NAMES, StepgateError } from '@stepgate/protocol';
import { CONSOLE_SCOPES } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import { consoleIdentity } from './console-principal.js';

const SETTINGS = {
  subjectClaim: 'email',
  rolesClaim: 'groups',
  roles: {
    'stepgate-admins': ['operator' as const, 'approver' as const],
    security: ['viewer' as const],
    ops: ['operator' as const, 'events' as const],
  },
};

function refusal(claims: Record<string, unknown>, settings = SETTINGS): StepgateError {
  try {
    consoleIdentity(claims, settings);
  } catch (error) {
    if (error instanceof StepgateError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('consoleIdentity: claims to a console principal', () => {
  it('grants the union of the scopes of every mapped value, in one order', () => {
    expect(
      consoleIdentity(
        { sub: 'u1', email: 'alice@example.com', groups: ['ops', 'security', 'stepgate-admins'] },
        SETTINGS,
      ),
    ).toEqual({
      subject: 'alice@example.com',
      scopes: ['operator', 'viewer', 'approver', 'events'],
    });
  });

  it('reads a single string, a dotted path and a namespaced claim name', () => {
    expect(consoleIdentity({ email: 'b@x', groups: 'security' }, SETTINGS).scopes).toEqual([
      'viewer',
    ]);
    expect(
      consoleIdentity(
        { sub: 's', realm_access: { roles: ['security'] } },
        { ...SETTINGS, subjectClaim: 'sub', rolesClaim: 'realm_access.roles' },
      ),
    ).toEqual({ subject: 's', scopes: ['viewer'] });
    expect(
      consoleIdentity(
        { sub: 's', 'https://example.com/groups': ['ops'] },
        { ...SETTINGS, subjectClaim: 'sub', rolesClaim: 'https://example.com/groups' },
      ).scopes,
    ).toEqual(['operator', 'events']);
  });

  it('ignores unmapped values and inherited names (no prototype lookups)', () => {
    expect(
      consoleIdentity({ email: 'c@x', groups: ['nobody', 'constructor', 'security'] }, SETTINGS)
        .scopes,
    ).toEqual(['viewer']);
  });

  it('refuses with 403 naming the values seen when none is mapped', () => {
    const error = refusal({ email: 'd@x', groups: ['marketing', 'sales'] });
    expect(error.code).toBe('auth/forbidden');
    expect(error.message).toMatch(
      /"d@x" signed in, but no value of the groups claim \["marketing", "sales"\] is mapped to Stepgate scopes in stepgate.yaml console.oidc.roles/,
    );
    expect(refusal({ email: 'd@x' }).message).toMatch(/groups claim \(absent or empty\)/);
  });

  it('refuses with 401 without a usable subject', () => {
    for (const email of [undefined, '', '  ', 42, 'x'.repeat(513)]) {
      const error = refusal({ email, groups: ['security'] });
      expect(error.code).toBe('auth/unauthenticated');
      expect(error.message).toMatch(/no usable email claim/);
    }
  });

  it('can only grant scopes the admin API knows, and never admin or agent', () => {
    for (const scope of CONSOLE_SCOPES) expect(SCOPE_NAMES).toContain(scope);
    expect(CONSOLE_SCOPES).not.toContain('admin');
    expect(CONSOLE_SCOPES).not.toContain('agent');
  });
});
