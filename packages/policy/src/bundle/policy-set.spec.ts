import { describe, expect, it } from 'vitest';
import { compileOk, minutesAgo, NOW, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { compile } from '../compile/compile.js';
import { PolicyEngine } from '../evaluate/engine.js';
import { parsePolicySet } from './policy-set.js';

const files = {
  'data/network.yaml': 'corporate: ["10.0.0.0/8"]\nzones: { b: 2, a: 1 }\n',
  'b.yaml': policy(
    'b',
    `  - name: s
    effect: step_up
    require: { level: mfa, maxAge: 5m }
`,
  ),
  'a.yaml': policy(
    'a',
    `  - name: allow-corp
    effect: allow
    when: context.ip.inCidr(data.network.corporate)
`,
  ),
};

describe('the shipped policy set', () => {
  it('compiles the same repository to the same policy set whatever the file order', () => {
    // Equal up to key order, which @stepgate/protocol's canonicalJson sorts: same bundle hash.
    const forward = compileOk(files);
    const reversed = compileOk(Object.fromEntries(Object.entries(files).reverse()));
    expect(reversed).toEqual(forward);
  });

  it('reloads without YAML and decides exactly like the original', () => {
    const original = compileOk(files);
    const reloaded = parsePolicySet(JSON.stringify(original));
    expect(reloaded).toEqual(original);
    const a = new PolicyEngine(original);
    const b = new PolicyEngine(reloaded, { revision: 7 });
    for (const [ip, evidence] of [
      ['10.1.1.1', { level: 'mfa', authTime: minutesAgo(1) }],
      ['10.1.1.1', undefined],
      ['8.8.8.8', { level: 'mfa', authTime: minutesAgo(1) }],
    ] as const) {
      const request = {
        principal: { id: 'alice' },
        action: 'x',
        resource: { kind: 'k', id: 'i' },
        context: { ip },
      };
      const strip = ({
        decisionId: _d,
        durationNs: _t,
        revision: _r,
        ...rest
      }: ReturnType<PolicyEngine['decide']>) => rest;
      expect(strip(b.decide(request, evidence, { now: NOW }))).toEqual(
        strip(a.decide(request, evidence, { now: NOW })),
      );
    }
    expect(
      b.decide({ principal: { id: 'a' }, action: 'x', resource: { kind: 'k', id: 'i' } }).revision,
    ).toBe(7);
  });

  it('rejects tampered or malformed input with a PolicySetError', () => {
    const good = JSON.parse(JSON.stringify(compileOk(files)));
    expect(() => parsePolicySet('{not json')).toThrow(/not JSON/);
    expect(() => parsePolicySet({ ...good, format: 'other' })).toThrow(/format/);
    const badEffect = structuredClone(good);
    badEffect.policies[0].rules[0].effect = 'maybe';
    expect(() => parsePolicySet(badEffect)).toThrow(/policies\.0\.rules\.0\.effect/);
    const badCel = structuredClone(good);
    badCel.policies[0].rules[0].when = 'principal.id ==';
    expect(() => new PolicyEngine(parsePolicySet(badCel))).toThrow(
      /a\/allow-corp: condition does not parse/,
    );
  });

  it('is plain data: a compile result survives structuredClone', () => {
    const result = compile(
      Object.entries({ 'stepgate.yaml': SETTINGS, ...files }).map(([path, content]) => ({
        path,
        content,
      })),
    );
    expect(result.ok).toBe(true);
    expect(structuredClone(result.policySet)).toEqual(result.policySet);
  });
});
