import { describe, expect, it } from 'vitest';
import {
  compileOk,
  engineFor,
  minutesAgo,
  NOW,
  policy,
  SETTINGS,
} from '../__support__/policy-fixture.js';
import { PolicyEngine } from './engine.js';
import { InvalidRequestError } from './request.js';

const alice = { id: 'alice', roles: ['deployer'] };
const deployProd = {
  principal: alice,
  action: 'deploy',
  resource: { kind: 'environment', id: 'prod/billing' },
};

const deploys = policy(
  'production-deploys',
  `  - name: weekend-freeze
    effect: deny
    when: 'now.getDayOfWeek("UTC") in [0, 6]'
    message: Production is frozen on weekends.
  - name: fresh-mfa-and-approval
    effect: step_up
    require: { level: mfa, maxAge: 5m, approvals: 1 }
  - name: deploy
    effect: allow
    when: '"deployer" in principal.roles'
`,
  'target:\n  actions: ["deploy", "terraform:apply"]\n  resources: ["prod/**"]\n',
);

describe('combining', () => {
  const engine = engineFor({ 'deploys.yaml': deploys });

  it('allows when an allow matches and the merged step-up is met', () => {
    const decision = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(4), approvals: ['bob'] },
      { now: NOW },
    );
    expect(decision.effect).toBe('allow');
    expect(decision.reasons.map((r) => r.rule)).toEqual(['deploy']);
    expect(decision.require).toBeUndefined();
  });

  it('any matching deny wins, with its message', () => {
    const saturday = new Date('2026-11-21T10:00:00Z');
    const decision = engine.decide(
      deployProd,
      { level: 'mfa', authTime: saturday, approvals: ['bob'] },
      { now: saturday },
    );
    expect(decision.effect).toBe('deny');
    expect(decision.reasons).toEqual([
      {
        policy: 'production-deploys',
        rule: 'weekend-freeze',
        effect: 'deny',
        message: 'Production is frozen on weekends.',
      },
    ]);
  });

  it('does not ask for a step-up when nothing would allow the request (defaultEffect deny)', () => {
    const decision = engine.decide(
      { ...deployProd, principal: { id: 'mallory', roles: [] } },
      undefined,
      { now: NOW },
    );
    expect(decision.effect).toBe('deny');
    expect(decision.require).toBeUndefined();
    expect(decision.reasons[0]?.rule).toBe('defaultEffect');
  });

  it('asks for the complete requirement and lists the parts that are unmet', () => {
    const missingApproval = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(4) },
      { now: NOW },
    );
    expect(missingApproval.effect).toBe('step_up');
    expect(missingApproval.require).toEqual({ level: 'mfa', maxAge: 300, approvals: 1 });
    expect(missingApproval.unmet).toEqual(['approvals']);
    expect(missingApproval.reasons.map((r) => `${r.policy}/${r.rule}`)).toEqual([
      'production-deploys/fresh-mfa-and-approval',
    ]);

    const nothing = engine.decide(deployProd, undefined, { now: NOW });
    expect(nothing.require).toEqual({ level: 'mfa', maxAge: 300, approvals: 1 });
    expect(nothing.unmet).toEqual(['level', 'maxAge', 'approvals']);
  });

  it('never puts require or unmet on an allow or a deny', () => {
    const allowed = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(4), approvals: ['bob'] },
      { now: NOW },
    );
    const denied = engine.decide({ ...deployProd, principal: { id: 'mallory' } }, undefined, {
      now: NOW,
    });
    expect([allowed.effect, denied.effect]).toEqual(['allow', 'deny']);
    for (const decision of [allowed, denied]) {
      expect(decision.require).toBeUndefined();
      expect(decision.unmet).toBeUndefined();
    }
  });

  it('session continuity: 4 minutes ago passes a 5-minute maxAge, 6 minutes ago does not', () => {
    const fresh = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(4), approvals: ['bob'] },
      { now: NOW },
    );
    const stale = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(6), approvals: ['bob'] },
      { now: NOW },
    );
    expect(fresh.effect).toBe('allow');
    expect(stale.effect).toBe('step_up');
    expect(stale.require).toEqual({ level: 'mfa', maxAge: 300, approvals: 1 });
    expect(stale.unmet).toEqual(['maxAge']);
  });

  it('self-approval and repeated approvers do not count', () => {
    const self = engine.decide(
      deployProd,
      { level: 'mfa', authTime: minutesAgo(1), approvals: ['alice', 'alice'] },
      { now: NOW },
    );
    expect(self.effect).toBe('step_up');
    expect(self.unmet).toEqual(['approvals']);
  });

  it('an authentication time in the future (beyond clock skew) is not fresh', () => {
    const future = engine.decide(
      deployProd,
      { level: 'mfa', authTime: new Date(NOW.getTime() + 10 * 60_000), approvals: ['bob'] },
      { now: NOW },
    );
    expect(future.unmet).toEqual(['maxAge']);
  });

  it('ignores policies whose target does not match', () => {
    const decision = engine.decide(
      { ...deployProd, resource: { kind: 'environment', id: 'staging/billing' } },
      undefined,
      { now: NOW },
    );
    expect(decision.effect).toBe('deny');
    expect(decision.reasons[0]?.rule).toBe('defaultEffect');
  });
});

describe('a stale MFA session', () => {
  const engine = engineFor({
    'p.yaml': policy(
      'p',
      `  - name: allow
    effect: allow
  - name: fresh-mfa
    effect: step_up
    require: { level: mfa, maxAge: 15m }
`,
    ),
  });

  it('is asked for the level and the freshness, with only the freshness unmet', () => {
    const decision = engine.decide(
      deployProd,
      { acr: 'urn:stepgate:mfa', authTime: minutesAgo(20) },
      { now: NOW },
    );
    expect(decision.effect).toBe('step_up');
    expect(decision.require).toEqual({ level: 'mfa', maxAge: 900 });
    expect(decision.unmet).toEqual(['maxAge']);
  });
});

describe('step-up rules never grant on their own', () => {
  const onlyStepUp = policy(
    'sensitive',
    `  - name: mfa
    effect: step_up
    require: { level: mfa }
`,
  );

  it('with defaultEffect deny a met step-up still denies', () => {
    const engine = engineFor({ 'p.yaml': onlyStepUp });
    expect(engine.decide(deployProd, { level: 'mfa' }, { now: NOW }).effect).toBe('deny');
  });

  it('with defaultEffect allow an unmet step-up steps up and a met one allows', () => {
    const engine = engineFor({
      'stepgate.yaml': SETTINGS.replace('defaultEffect: deny', 'defaultEffect: allow'),
      'p.yaml': onlyStepUp,
    });
    expect(engine.decide(deployProd, { level: 'pwd' }, { now: NOW }).effect).toBe('step_up');
    expect(engine.decide(deployProd, { level: 'mfa' }, { now: NOW }).effect).toBe('allow');
  });
});

describe('merging several step-up rules', () => {
  const engine = engineFor({
    'a.yaml': policy(
      'a',
      `  - name: allow
    effect: allow
  - name: mfa-10m
    effect: step_up
    require: { level: mfa, maxAge: 10m }
`,
    ),
    'b.yaml': policy(
      'b',
      `  - name: hwk-1h-two-approvals
    effect: step_up
    require: { level: phishing_resistant, maxAge: 1h, approvals: 2 }
`,
    ),
  });

  it('takes the highest level, the shortest maxAge and the most approvals', () => {
    const decision = engine.decide(deployProd, undefined, { now: NOW });
    expect(decision.effect).toBe('step_up');
    expect(decision.require).toEqual({ level: 'phishing_resistant', maxAge: 600, approvals: 2 });
    expect(decision.unmet).toEqual(['level', 'maxAge', 'approvals']);
    expect(decision.reasons.map((r) => r.rule).sort()).toEqual(['hwk-1h-two-approvals', 'mfa-10m']);
  });

  it('merges the complete requirements of two unmet rules, not only their missing parts', () => {
    // mfa-10m misses only freshness, hwk-1h-two-approvals only an approval: one step-up must
    // still bring the strongest level, a login within 10 minutes and both approvals.
    const decision = engine.decide(
      deployProd,
      { level: 'phishing_resistant', authTime: minutesAgo(20), approvals: ['bob'] },
      { now: NOW },
    );
    expect(decision.require).toEqual({ level: 'phishing_resistant', maxAge: 600, approvals: 2 });
    expect(decision.unmet).toEqual(['maxAge', 'approvals']);
    expect(decision.reasons.map((r) => r.rule).sort()).toEqual(['hwk-1h-two-approvals', 'mfa-10m']);
  });

  it("names only the unmet rules, and a met rule's requirement is not merged", () => {
    const decision = engine.decide(
      deployProd,
      { level: 'phishing_resistant', authTime: minutesAgo(20), approvals: ['bob', 'carol'] },
      { now: NOW },
    );
    expect(decision.require).toEqual({ level: 'mfa', maxAge: 600 });
    expect(decision.unmet).toEqual(['maxAge']);
    expect(decision.reasons.map((r) => r.rule)).toEqual(['mfa-10m']);
  });
});

describe('what decisions share', () => {
  // A rule's one-rule reasons, its requirement and the unmet lists are made once and shared by
  // every decision (an agent's log keeps decisions, and each object of one costs the collector);
  // shared means frozen, and lists of several rules are built per decision.
  const engine = engineFor({
    'p.yaml': policy(
      'p',
      `  - name: allow-all
    effect: allow
  - name: allow-alice
    effect: allow
    when: principal.id == "alice"
  - name: mfa
    effect: step_up
    when: principal.id == "bob"
    require: { level: mfa, maxAge: 10m }
`,
    ),
  });
  const asBob = { ...deployProd, principal: { id: 'bob' } };

  it('a one-rule decision shares frozen reasons, requirement and unmet list', () => {
    const first = engine.decide(asBob, undefined, { now: NOW });
    const second = engine.decide(asBob, undefined, { now: NOW });
    expect(first.effect).toBe('step_up');
    expect(first.reasons.map((r) => r.rule)).toEqual(['mfa']);
    expect(first.require).toEqual({ level: 'mfa', maxAge: 600 });
    expect(first.unmet).toEqual(['level', 'maxAge']);
    expect(second.reasons).toBe(first.reasons);
    expect(second.require).toBe(first.require);
    expect(second.unmet).toBe(first.unmet);
    expect(() => first.reasons.push(first.reasons[0] as never)).toThrow(TypeError);
    expect(() => {
      (first.require as { level?: string }).level = 'none';
    }).toThrow(TypeError);
    expect(() => first.unmet?.pop()).toThrow(TypeError);
    expect(engine.decide(asBob, undefined, { now: NOW })).toMatchObject({
      reasons: [{ rule: 'mfa' }],
      require: { level: 'mfa', maxAge: 600 },
      unmet: ['level', 'maxAge'],
    });
  });

  it('two matching rules get a list of their own, and the one-rule list is left alone', () => {
    const carol = engine.decide({ ...deployProd, principal: { id: 'carol' } }, undefined, {
      now: NOW,
    });
    const both = engine.decide(deployProd, undefined, { now: NOW });
    const carolAgain = engine.decide({ ...deployProd, principal: { id: 'carol' } }, undefined, {
      now: NOW,
    });
    expect(both.reasons.map((r) => r.rule)).toEqual(['allow-all', 'allow-alice']);
    expect(Object.isFrozen(both.reasons)).toBe(false);
    expect(carol.reasons.map((r) => r.rule)).toEqual(['allow-all']);
    expect(carolAgain.reasons).toBe(carol.reasons);
    expect(carolAgain.reasons).toHaveLength(1);
  });
});

describe('levels from acr and amr', () => {
  const engine = engineFor({
    'p.yaml': policy(
      'p',
      `  - name: allow
    effect: allow
  - name: hwk
    effect: step_up
    require: { level: phishing_resistant }
`,
    ),
  });

  it.each([
    [{ acr: 'urn:stepgate:phr' }, 'allow'],
    [{ amr: ['pwd', 'hwk'] }, 'allow'],
    [{ amr: ['otp'] }, 'step_up'],
    [{ acr: 'urn:stepgate:mfa', amr: ['hwk'] }, 'allow'],
    [{ level: 'no-such-level' }, 'step_up'],
    [{ acr: 'urn:unknown' }, 'step_up'],
  ])('%j -> %s', (evidence, effect) => {
    expect(engine.decide(deployProd, evidence, { now: NOW }).effect).toBe(effect);
  });

  it('exposes the resolved level to conditions as auth.level', () => {
    const levelEngine = engineFor({
      'p.yaml': policy(
        'p',
        `  - name: only-mfa
    effect: allow
    when: auth.level == "mfa"
`,
      ),
    });
    expect(levelEngine.decide(deployProd, { amr: ['otp'] }, { now: NOW }).effect).toBe('allow');
    expect(levelEngine.decide(deployProd, { level: 'pwd' }, { now: NOW }).effect).toBe('deny');
  });
});

describe('audit mode', () => {
  const engine = engineFor({
    'p.yaml': policy(
      'p',
      `  - name: allow
    effect: allow
  - name: would-deny
    effect: deny
    mode: audit
    when: principal.id == "alice"
    message: advisory only
`,
    ),
  });

  it('reports a matching audit rule without changing the effect', () => {
    const decision = engine.decide(deployProd, undefined, { now: NOW });
    expect(decision.effect).toBe('allow');
    expect(decision.audit).toEqual([
      { policy: 'p', rule: 'would-deny', effect: 'deny', message: 'advisory only' },
    ]);
  });
});

describe('runtime errors follow onError', () => {
  const files = {
    'p.yaml': policy(
      'p',
      `  - name: allow
    effect: allow
  - name: needs-geo
    effect: deny
    when: context.geo.country == "KP"
`,
    ),
  };

  it('onError deny: a failing condition denies and is recorded', () => {
    const decision = engineFor(files).decide(deployProd, undefined, { now: NOW });
    expect(decision.effect).toBe('deny');
    expect(decision.reasons[0]?.rule).toBe('needs-geo');
    expect(decision.errors?.[0]).toMatchObject({ policy: 'p', rule: 'needs-geo' });
    expect(decision.errors?.[0]?.message).toMatch(/geo/);
  });

  it('onError ignore: the failing rule is skipped but still recorded', () => {
    const engine = engineFor({
      ...files,
      'stepgate.yaml': SETTINGS.replace('onError: deny', 'onError: ignore'),
    });
    const decision = engine.decide(deployProd, undefined, { now: NOW });
    expect(decision.effect).toBe('allow');
    expect(decision.errors).toHaveLength(1);
  });

  it('a condition that yields a non-bool at run time is an error, not a match', () => {
    const engine = engineFor({
      'p.yaml': policy(
        'p',
        `  - name: dyn
    effect: allow
    when: principal.attributes.flag
`,
      ),
    });
    const decision = engine.decide(
      { ...deployProd, principal: { id: 'a', attributes: { flag: 'yes' } } },
      undefined,
      { now: NOW },
    );
    expect(decision.effect).toBe('deny');
    expect(decision.errors?.[0]?.message).toMatch(/not a bool/);
    expect(
      engine.decide(
        { ...deployProd, principal: { id: 'a', attributes: { flag: true } } },
        undefined,
        { now: NOW },
      ).effect,
    ).toBe('allow');
  });
});

describe('inputs', () => {
  const engine = engineFor({
    'p.yaml': policy(
      'p',
      `  - name: roles
    effect: allow
    when: size(principal.roles) == 0 && size(principal.groups) == 0 && size(context) == 0
`,
    ),
  });

  it('fills omitted optional fields with empty values', () => {
    expect(
      engine.decide(
        { principal: { id: 'a' }, action: 'x', resource: { kind: 'k', id: 'i' } },
        undefined,
        { now: NOW },
      ).effect,
    ).toBe('allow');
  });

  it.each([
    [{}, /principal.id/],
    [{ principal: { id: 'a' }, resource: { kind: 'k', id: 'i' } }, /action/],
    [{ principal: { id: 'a' }, action: 'x' }, /resource/],
    [
      { principal: { id: 'a', roles: 'admin' }, action: 'x', resource: { kind: 'k', id: 'i' } },
      /principal.roles/,
    ],
  ])('rejects %j with a clear InvalidRequestError', (request, message) => {
    expect(() => engine.decide(request as never)).toThrow(InvalidRequestError);
    expect(() => engine.decide(request as never)).toThrow(message);
  });

  it('gives every decision an id, the revision and a duration', () => {
    const decision = engineFor({ 'p.yaml': deploys }).decide(deployProd);
    expect(decision.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(decision.revision).toBe(0);
    expect(decision.durationNs).toBeGreaterThan(0);
  });
});

describe('extra functions in conditions', () => {
  const engine = engineFor({
    'data/network.yaml': 'corporate: ["10.0.0.0/8", "2001:db8::/32"]\n',
    'p.yaml': policy(
      'p',
      `  - name: corporate
    effect: allow
    when: context.ip.inCidr(data.network.corporate) && resource.id.globMatch("prod/**") && now.withinHours("09:00", "18:00", "Europe/Berlin")
`,
    ),
  });
  const at = (ip: string, now: Date) =>
    engine.decide({ ...deployProd, context: { ip } }, undefined, { now }).effect;

  it('combines CIDR membership, glob match and working hours in a time zone', () => {
    expect(at('10.2.3.4', NOW)).toBe('allow'); // 11:00 in Berlin
    expect(at('2001:db8::1', NOW)).toBe('allow');
    expect(at('192.168.1.1', NOW)).toBe('deny');
    expect(at('10.2.3.4', new Date('2026-11-23T17:30:00Z'))).toBe('deny'); // 18:30 in Berlin
    expect(at('not-an-ip', NOW)).toBe('deny');
  });
});

describe('label selectors', () => {
  const set = {
    'p.yaml': policy(
      'everywhere',
      `  - name: allow
    effect: allow
`,
    ),
    'q.yaml': `${policy(
      'prod-only',
      `  - name: no-deletes
    effect: deny
    when: action == "delete"
`,
    )}agents: { env: prod }\n`,
  };

  it('applies a policy only on agents whose labels match its selector', () => {
    const request = { ...deployProd, action: 'delete' };
    expect(engineFor(set).decide(request, undefined, { now: NOW }).effect).toBe('allow');
    const prod = new PolicyEngine(compileOk(set), { labels: { env: 'prod', zone: 'eu' } });
    expect(prod.decide(request, undefined, { now: NOW }).effect).toBe('deny');
    const staging = new PolicyEngine(compileOk(set), { labels: { env: 'staging' } });
    expect(staging.decide(request, undefined, { now: NOW }).effect).toBe('allow');
  });
});
