import { describe, expect, it } from 'vitest';
import { changeOf, rulesOfChange } from './replay-diff.js';
import { conditionReads, MaskedReads } from './masked-reads.js';
import { ReplayTally } from './replay-tally.js';
import type { ReplayExample } from '@stepgate/protocol';

const LEVELS = ['password', 'mfa', 'phishing_resistant'];
const allow = { effect: 'allow' as const, require: null };
const deny = { effect: 'deny' as const, require: null };
const stepUp = (require: object) => ({ effect: 'step_up' as const, require });

describe('changeOf', () => {
  it('names an effect change from -> to, and nothing for the same effect', () => {
    expect(changeOf(allow, stepUp({ level: 'mfa' }), LEVELS)).toBe('allow -> step_up');
    expect(changeOf(stepUp({ level: 'mfa' }), deny, LEVELS)).toBe('step_up -> deny');
    expect(changeOf(deny, allow, LEVELS)).toBe('deny -> allow');
    expect(changeOf(allow, allow, LEVELS)).toBeNull();
    expect(changeOf(deny, deny, LEVELS)).toBeNull();
  });

  it('compares two step-ups part by part: level rank, maxAge (shorter is stricter), approvals', () => {
    const mfa = stepUp({ level: 'mfa', maxAge: 300 });
    expect(changeOf(mfa, stepUp({ level: 'mfa', maxAge: 300 }), LEVELS)).toBeNull();
    expect(changeOf(mfa, stepUp({ level: 'phishing_resistant', maxAge: 300 }), LEVELS)).toBe(
      'requirement tightened',
    );
    expect(changeOf(mfa, stepUp({ level: 'mfa', maxAge: 60 }), LEVELS)).toBe(
      'requirement tightened',
    );
    expect(changeOf(mfa, stepUp({ level: 'mfa' }), LEVELS)).toBe('requirement loosened');
    expect(changeOf(mfa, stepUp({ level: 'password', maxAge: 300 }), LEVELS)).toBe(
      'requirement loosened',
    );
    expect(changeOf(mfa, stepUp({ level: 'mfa', maxAge: 300, approvals: 1 }), LEVELS)).toBe(
      'requirement tightened',
    );
    expect(changeOf(mfa, stepUp({ level: 'phishing_resistant', maxAge: 3600 }), LEVELS)).toBe(
      'requirement changed',
    );
  });
});

describe('rulesOfChange', () => {
  const r = (rule: string) => ({ policy: 'p', rule });
  const v = (effect: 'allow' | 'deny' | 'step_up', ...rules: string[]) => ({
    effect,
    reasons: rules.map(r),
  });
  it('puts a stricter change down to the new rules, a looser one to the rules that stopped', () => {
    // allow -> step_up: the step-up rule, not the allow rule that still matches.
    expect(rulesOfChange(v('allow', 'read'), v('step_up', 'secret-mfa'))).toEqual([
      r('secret-mfa'),
    ]);
    // step_up -> allow: the step-up rule that no longer applies, not the allow rule.
    expect(rulesOfChange(v('step_up', 'secret-mfa'), v('allow', 'read'))).toEqual([
      r('secret-mfa'),
    ]);
    expect(rulesOfChange(v('step_up', 'a', 'b'), v('step_up', 'a', 'c'))).toEqual([r('c'), r('b')]);
    // The same rule with another requirement: that rule.
    expect(rulesOfChange(v('step_up', 's'), v('step_up', 's'))).toEqual([r('s')]);
  });
});

describe('masked reads', () => {
  it('reads a path named key by key, or its root used whole', () => {
    expect(conditionReads('context.ip == "10.0.0.1"', 'context.ip')).toBe(true);
    expect(conditionReads('has(context.geo.city)', 'context.geo.city')).toBe(true);
    expect(conditionReads('context["geo"]["city"] == "x"', 'context.geo.city')).toBe(true);
    expect(conditionReads('size(context) > 0', 'context.ip')).toBe(true);
    expect(conditionReads('context.userAgent == "curl"', 'context.ip')).toBe(false);
    expect(conditionReads('principal.attributes.ip == "x"', 'context.ip')).toBe(false);
    expect(conditionReads('"admin" in principal.roles', 'principal.attributes.email')).toBe(false);
  });

  it('treats the fields the engine itself reads as read, and caches per path', () => {
    const reads = new MaskedReads({
      format: 'stepgate.policy-set/v1',
      settings: {
        defaultEffect: 'deny',
        onError: 'deny',
        levels: [],
        issuers: [],
        mask: [],
      },
      data: {},
      policies: [
        {
          name: 'p',
          file: 'p.yaml',
          target: {},
          rules: [{ name: 'r', effect: 'deny', mode: 'enforce', when: 'context.ip == "x"' }],
        },
      ],
    });
    expect(reads.read(['context.ip', 'context.userAgent', 'resource.id', 'resource.kind'])).toEqual(
      ['context.ip', 'resource.id', 'resource.kind'],
    );
  });
});

describe('ReplayTally', () => {
  const example = (principal: string, action = 'read'): ReplayExample => ({
    decisionId: `${principal}-${action}`,
    at: '2026-12-02T10:00:00.000Z',
    principal,
    action,
    resource: { kind: 'doc', id: 'x' },
    before: { effect: 'allow', require: null },
    after: { effect: 'step_up', require: { level: 'mfa' }, reasons: [] },
  });

  it('counts totals, groups by change, rule, principal and action, with up to N examples', () => {
    const tally = new ReplayTally(2);
    tally.unchanged();
    tally.change('allow -> step_up', [{ policy: 'p', rule: 'r1' }], example('alice'));
    tally.change('allow -> step_up', [{ policy: 'p', rule: 'r1' }], example('alice', 'write'));
    tally.change('allow -> step_up', [{ policy: 'p', rule: 'r1' }], example('bob'));
    tally.change('step_up -> deny', [{ policy: 'p', rule: 'r2' }], example('bob'));
    tally.notReplayed('recorded_before_replay', { ...example('carol'), after: null });
    const result = tally.result();
    expect(result.totals).toEqual({ records: 6, replayed: 5, changed: 4, notReplayable: 1 });
    expect(result.changes.map((c) => [c.change, c.count, c.examples.length])).toEqual([
      ['allow -> step_up', 3, 2],
      ['step_up -> deny', 1, 1],
    ]);
    expect(result.byRule.map((g) => [g.policy, g.rule, g.count])).toEqual([
      ['p', 'r1', 3],
      ['p', 'r2', 1],
    ]);
    expect(result.byPrincipal.map((g) => [g.principal, g.count])).toEqual([
      ['alice', 2],
      ['bob', 2],
    ]);
    expect(result.byAction.map((g) => [g.action, g.count])).toEqual([
      ['read', 3],
      ['write', 1],
    ]);
    expect(result.notReplayable).toMatchObject([{ reason: 'recorded_before_replay', count: 1 }]);
    expect(result.truncated).toBe(false);
  });
});
