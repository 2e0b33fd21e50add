import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';

const allow = policy('p', '  - name: allow\n    effect: allow\n');

function withConsole(yaml: string): Record<string, string> {
  return { 'stepgate.yaml': `${SETTINGS}console:\n${yaml}`, 'p.yaml': allow };
}

function messages(yaml: string): string[] {
  return compileErrors(withConsole(yaml)).map((e) => `${e.file}:${e.line ?? '?'} ${e.message}`);
}

const MINIMAL = `  oidc:
    issuer: https://login.example.com
    clientId: stepgate-console
    rolesClaim: groups
    roles:
      stepgate-admins: [operator, approver]
`;

describe('compile: console sign-in in stepgate.yaml', () => {
  it('fills the defaults and survives the bundle round trip', () => {
    const set = compileOk(withConsole(MINIMAL));
    expect(set.settings.console).toEqual({
      oidc: {
        issuer: 'https://login.example.com',
        clientId: 'stepgate-console',
        scopes: ['openid', 'profile', 'email'],
        subjectClaim: 'sub',
        rolesClaim: 'groups',
        roles: { 'stepgate-admins': ['operator', 'approver'] },
        clockSkew: 30,
      },
    });
    expect(parsePolicySet(JSON.parse(JSON.stringify(set))).settings.console).toEqual(
      set.settings.console,
    );
  });

  it('takes every field', () => {
    const set = compileOk(
      withConsole(`  oidc:
    issuer: http://127.0.0.1:8080/realms/x
    clientId: c
    scopes: [openid, groups, openid]
    subjectClaim: email
    rolesClaim: realm_access.roles
    roles: { security: [viewer, viewer], ops: [operator, data, events] }
    clockSkew: 2m
`),
    );
    expect(set.settings.console?.oidc).toMatchObject({
      scopes: ['openid', 'groups'],
      subjectClaim: 'email',
      rolesClaim: 'realm_access.roles',
      roles: { security: ['viewer'], ops: ['operator', 'data', 'events'] },
      clockSkew: 120,
    });
  });

  it('leaves the settings unchanged without a console block', () => {
    expect(compileOk({ 'p.yaml': allow }).settings).not.toHaveProperty('console');
    expect(compileOk(withConsole('  {}\n')).settings).not.toHaveProperty('console');
  });

  it('refuses admin and agent with a message that says what to grant instead', () => {
    expect(messages(MINIMAL.replace('[operator, approver]', '[admin]')).join('\n')).toMatch(
      /stepgate\.yaml:\d+ console\.oidc: roles\.stepgate-admins: admin cannot be granted through OIDC sign-in; it stays with API tokens/,
    );
    expect(messages(MINIMAL.replace('[operator, approver]', '[agent]')).join('\n')).toMatch(
      /unknown scope "agent" \(allowed: operator, viewer, approver, data, events\)/,
    );
  });

  it.each([
    [
      'an issuer over plain http elsewhere',
      MINIMAL.replace('https://login', 'http://login'),
      /issuer must be an https:\/\/ URL/,
    ],
    [
      'scopes without openid',
      MINIMAL.replace('    rolesClaim', '    scopes: [profile]\n    rolesClaim'),
      /scopes must include openid/,
    ],
    [
      'no roles',
      MINIMAL.replace(/roles:\n.*\n$/, 'roles: {}\n'),
      /roles is empty: map at least one groups value/,
    ],
    [
      'a clock skew over 5 minutes',
      `${MINIMAL}    clockSkew: 10m\n`,
      /clockSkew must be whole seconds up to 5m/,
    ],
    ['an unknown field', `${MINIMAL}    clientSecret: s\n`, /clientSecret/],
    ['a missing clientId', MINIMAL.replace('    clientId: stepgate-console\n', ''), /clientId/],
  ])('refuses %s', (_name, yaml, message) => {
    const found = messages(yaml);
    expect(found.join('\n')).toMatch(message);
    expect(found.every((line) => line.startsWith('stepgate.yaml:'))).toBe(true);
  });
});
