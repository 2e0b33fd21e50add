import { describe, expect, it } from 'vitest';
import { describeRequirement, satisfyHints, shellArg } from './satisfy.js';

describe('satisfyHints', () => {
  it('suggests elevate for a level or freshness gap', () => {
    expect(satisfyHints({ level: 'mfa' }, 'deploy', 'prod/api')).toEqual({
      elevate: 'npx stepgate elevate --action deploy --resource prod/api',
    });
    expect(satisfyHints({ maxAge: 300 }, 'deploy', 'prod/api')).toHaveProperty('elevate');
  });

  it('suggests a request with the approvals needed for an approval gap', () => {
    expect(satisfyHints({ approvals: 2 }, 'stepgate:rollback', 'versions/3')).toEqual({
      request:
        "npx stepgate request --action stepgate:rollback --resource versions/3 --reason '<why>'",
      approvals: 2,
    });
  });

  it('with the unmet parts of a complete requirement, suggests only what is still to do', () => {
    const require = { level: 'mfa', maxAge: 600, approvals: 1 };
    expect(satisfyHints(require, 'deploy', 'prod/api', {}, ['approvals'])).toEqual({
      request: "npx stepgate request --action deploy --resource prod/api --reason '<why>'",
      approvals: 1,
    });
    expect(satisfyHints(require, 'deploy', 'prod/api', {}, ['maxAge'])).toEqual({
      elevate: 'npx stepgate elevate --action deploy --resource prod/api',
    });
  });

  it('quotes arguments only when the shell needs it', () => {
    expect(shellArg('k8s:create:pods/exec')).toBe('k8s:create:pods/exec');
    expect(shellArg('a b')).toBe("'a b'");
    expect(shellArg("it's")).toBe("'it'\\''s'");
    expect(shellArg('$(reboot)')).toBe("'$(reboot)'");
  });

  it('names the roles and groups the decision saw in the request, so it is decided the same way', () => {
    expect(
      satisfyHints({ approvals: 1 }, 'deploy', 'prod/api', {
        roles: ['deployer'],
        groups: ['sre team'],
      }).request,
    ).toBe(
      "npx stepgate request --action deploy --resource prod/api --role deployer --group 'sre team' --reason '<why>'",
    );
  });

  it('describes a requirement for messages', () => {
    expect(describeRequirement({ level: 'mfa', maxAge: 600, approvals: 1 })).toBe(
      'level mfa, authenticated within 10m, 1 approval',
    );
    expect(describeRequirement({ maxAge: 90 })).toBe('authenticated within 90s');
  });
});
