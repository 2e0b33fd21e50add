import type { CompiledPolicy, CompiledPolicySet } from '@stepgate/policy';
import { describe, expect, it } from 'vitest';
import {
  canMatchSelfAction,
  isProtectionPolicy,
  NO_ACTIVE_PROTECTION,
  protectionChanged,
  protectionFingerprint,
} from './protection-policies.js';

function policy(name: string, extra: Partial<CompiledPolicy> = {}): CompiledPolicy {
  return {
    name,
    file: `${name}.yaml`,
    target: {},
    rules: [{ name: 'r', effect: 'step_up', mode: 'enforce', require: { level: 'mfa' } }],
    ...extra,
  };
}

function set(
  policies: CompiledPolicy[],
  extra: Partial<CompiledPolicySet> = {},
): CompiledPolicySet {
  return {
    format: 'stepgate.policy-set/v1',
    settings: {
      defaultEffect: 'deny',
      onError: 'deny',
      levels: [{ name: 'mfa', acr: [], amr: ['otp'] }],
      issuers: [],
      mask: [],
    },
    policies,
    data: { admins: ['ann'], network: { corp: ['10.0.0.0/8'] } },
    ...extra,
  };
}

const protect = policy('protect', { target: { actions: ['stepgate:*'] } });
const deploys = policy('deploys', { target: { actions: ['deploy'], resources: ['prod/**'] } });

describe('canMatchSelfAction', () => {
  it.each([
    ['stepgate:*', true],
    ['stepgate:activate', true],
    ['stepgate:tokens:*', true],
    ['step*', true],
    ['**', true],
    ['*:activate', true],
    ['{stepgate,k8s}:*', true],
    ['s?epgate:*', true],
    ['k8s:**', false],
    ['deploy', false],
    ['stepgatex:*', false],
    ['Stepgate:*', false],
  ])('%s -> %s', (pattern, expected) => {
    expect(canMatchSelfAction(pattern)).toBe(expected);
  });
});

describe('isProtectionPolicy', () => {
  it('counts a policy without an action target, or with one that can match stepgate:', () => {
    expect(isProtectionPolicy(policy('all'))).toBe(true);
    expect(isProtectionPolicy(protect)).toBe(true);
    expect(isProtectionPolicy(policy('mixed', { target: { actions: ['deploy', '*'] } }))).toBe(
      true,
    );
    // A resource target does not rule it out: admin resource ids embed names.
    expect(
      isProtectionPolicy(policy('res', { target: { actions: ['**'], resources: ['prod/**'] } })),
    ).toBe(true);
  });

  it('leaves out other actions and policies selected by agent labels', () => {
    expect(isProtectionPolicy(deploys)).toBe(false);
    expect(
      isProtectionPolicy(
        policy('labelled', { target: { actions: ['stepgate:*'] }, agents: { a: 'b' } }),
      ),
    ).toBe(false);
    expect(isProtectionPolicy(policy('empty-selector', { agents: {} }))).toBe(true);
  });
});

describe('protectionChanged', () => {
  const active = protectionFingerprint(set([protect, deploys]));

  it('is false for changes that leave the protection policies alone', () => {
    const otherDeploys = policy('deploys', { target: { actions: ['deploy', 'release'] } });
    expect(protectionChanged(set([protect, otherDeploys]), active)).toBe(false);
    expect(protectionChanged(set([deploys, protect]), active)).toBe(false); // order
    const moved = { ...protect, file: 'elsewhere.yaml', description: 'new words' };
    expect(protectionChanged(set([moved, deploys]), active)).toBe(false);
    // Data no protection rule reads.
    expect(protectionChanged(set([protect, deploys], { data: { other: 1 } }), active)).toBe(false);
  });

  it('is true when a protection policy is removed, added or changed', () => {
    expect(protectionChanged(set([deploys]), active)).toBe(true);
    expect(protectionChanged(set([protect, deploys, policy('extra')]), active)).toBe(true);
    const weaker = {
      ...protect,
      rules: [{ name: 'r', effect: 'step_up' as const, mode: 'audit' as const }],
    };
    expect(protectionChanged(set([weaker, deploys]), active)).toBe(true);
    const narrowed = { ...protect, target: { actions: ['stepgate:rollback'] } };
    expect(protectionChanged(set([narrowed, deploys]), active)).toBe(true);
    const selected = { ...protect, agents: { env: 'nowhere' } };
    expect(protectionChanged(set([selected, deploys]), active)).toBe(true);
  });

  it('is true when console sign-in settings are added or changed, and only under protection', () => {
    const oidc = {
      issuer: 'https://login.example.com',
      clientId: 'console',
      scopes: ['openid'],
      subjectClaim: 'sub',
      rolesClaim: 'groups',
      roles: { ops: ['viewer' as const] },
      clockSkew: 30,
    };
    const withConsole = (policies: CompiledPolicy[], roles = oidc.roles) => {
      const next = set(policies);
      next.settings = { ...next.settings, console: { oidc: { ...oidc, roles } } };
      return next;
    };
    const fingerprint = protectionFingerprint(withConsole([protect]));
    expect(protectionChanged(set([protect]), protectionFingerprint(set([protect])))).toBe(false);
    expect(protectionChanged(withConsole([protect]), protectionFingerprint(set([protect])))).toBe(
      true,
    );
    expect(protectionChanged(withConsole([protect], { ops: ['operator'] }), fingerprint)).toBe(
      true,
    );
    expect(protectionChanged(withConsole([protect]), fingerprint)).toBe(false);
    expect(protectionChanged(withConsole([deploys]), protectionFingerprint(set([deploys])))).toBe(
      false,
    );
  });

  it('is true when the levels, onError or data the protection reads change', () => {
    const base = set([protect]);
    const fingerprint = protectionFingerprint(base);
    const levels = set([protect]);
    levels.settings = { ...levels.settings, levels: [{ name: 'mfa', acr: [], amr: ['pwd'] }] };
    expect(protectionChanged(levels, fingerprint)).toBe(true);
    const onError = set([protect]);
    onError.settings = { ...onError.settings, onError: 'ignore' };
    expect(protectionChanged(onError, fingerprint)).toBe(true);
    // Without any protection policy, settings are irrelevant.
    const unprotected = set([deploys]);
    unprotected.settings = { ...unprotected.settings, onError: 'ignore' };
    expect(protectionChanged(unprotected, protectionFingerprint(set([deploys])))).toBe(false);

    const reading = policy('protect', {
      target: { actions: ['stepgate:*'] },
      rules: [
        {
          name: 'admins',
          effect: 'step_up',
          mode: 'enforce',
          when: '!(principal.id in data.admins)',
          require: { level: 'mfa' },
        },
      ],
    });
    const withData = protectionFingerprint(set([reading]));
    expect(protectionChanged(set([reading], { data: { admins: ['ann', 'eve'] } }), withData)).toBe(
      true,
    );
    // Another document it does not read.
    expect(
      protectionChanged(
        set([reading], { data: { admins: ['ann'], network: { corp: [] } } }),
        withData,
      ),
    ).toBe(false);
    // `data` read any other way: all of it counts.
    const dynamic = { ...reading, rules: [{ ...reading.rules[0]!, when: 'data["admins"] != []' }] };
    expect(
      protectionChanged(
        set([dynamic], { data: { admins: ['ann'], network: {} } }),
        protectionFingerprint(set([dynamic])),
      ),
    ).toBe(true);
  });

  it('is false with no version active: nothing is protected yet', () => {
    expect(protectionChanged(set([protect]), NO_ACTIVE_PROTECTION)).toBe(false);
  });
});
