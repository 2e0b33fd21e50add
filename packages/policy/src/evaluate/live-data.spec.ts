import { describe, expect, it } from 'vitest';
import { NOW } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';
import { POLICY_SET_FORMAT, type CompiledPolicySet, type Settings } from '../model.js';
import { PolicyEngine } from './engine.js';
import { signalZeroValue, validateLiveDocument } from './live-data.js';

const SETTINGS: Settings = {
  defaultEffect: 'allow',
  onError: 'deny',
  levels: [{ name: 'mfa', acr: ['urn:stepgate:mfa'], amr: [] }],
  issuers: [],
  mask: [],
  liveData: {
    blocked_ips: {
      schema: { type: 'array', items: { type: 'string', pattern: '^[0-9./]+$' } },
      default: [],
    },
    freeze: { schema: { type: 'boolean' }, default: false },
  },
  signals: {
    failed_logins: { event: 'login_failed', window: 3600, aggregate: 'count' },
    new_device: { event: 'new_device', window: 86400, aggregate: 'exists' },
    last_country: { event: 'login', window: 2592000, aggregate: 'last', field: 'country' },
    countries: { event: 'login', window: 86400, aggregate: 'distinct', field: 'country' },
  },
};

/** A policy set with one rule per condition, each named after its position. */
function engineWith(conditions: string[], settings: Settings = SETTINGS): PolicyEngine {
  const policySet: CompiledPolicySet = {
    format: POLICY_SET_FORMAT,
    settings,
    data: { network: { office: ['10.0.0.0/8'] } },
    policies: [
      {
        name: 'risk',
        file: 'risk.yaml',
        target: {},
        rules: conditions.map((when, index) => ({
          name: `r${index}`,
          effect: 'deny' as const,
          mode: 'enforce' as const,
          when,
        })),
      },
    ],
  };
  return new PolicyEngine(parsePolicySet(JSON.parse(JSON.stringify(policySet))));
}

const request = {
  principal: { id: 'alice' },
  action: 'deploy',
  resource: { kind: 'environment', id: 'prod/api' },
  context: { ip: '192.0.2.7' },
};

/** The rules that denied, with any condition errors: the conditions that came out true. */
function truths(engine: PolicyEngine, options: Parameters<PolicyEngine['decide']>[2] = {}) {
  const decision = engine.decide(request, undefined, { now: NOW, ...options });
  expect(decision.errors).toBeUndefined();
  return decision.effect === 'deny' ? decision.reasons.map((reason) => reason.rule) : [];
}

describe('live data in decisions', () => {
  const engine = engineWith([
    'context.ip.inCidr(data.blocked_ips)',
    'data.freeze',
    'size(data.network.office) == 1',
  ]);

  it('reads every declared default without live data, beside the Git data', () => {
    expect(truths(engine)).toEqual(['r2']);
  });

  it('overlays the declared documents the live data holds; a missing one reads its default', () => {
    const live = { revision: 3, documents: { blocked_ips: ['192.0.2.0/24'] } };
    expect(truths(engine, { live })).toEqual(['r0', 'r2']);
  });

  it('ignores undeclared names and never replaces Git data', () => {
    const live = { revision: 4, documents: { network: {}, unknown: true, freeze: true } };
    expect(truths(engine, { live })).toEqual(['r1', 'r2']);
  });

  it('sees a new revision of the same documents object, and a new object at the same revision', () => {
    const documents: Record<string, unknown> = { blocked_ips: [] };
    const live = { revision: 1, documents };
    expect(truths(engine, { live })).toEqual(['r2']);
    documents.blocked_ips = ['192.0.2.7/32'];
    live.revision = 2;
    expect(truths(engine, { live })).toEqual(['r0', 'r2']);
    expect(truths(engine, { live: { revision: 2, documents: {} } })).toEqual(['r2']);
    // Back to no live data at all: the defaults again.
    expect(truths(engine)).toEqual(['r2']);
  });

  it('reuses one data object while the live data does not change', () => {
    const live = { revision: 7, documents: { freeze: false } };
    const seen: unknown[] = [];
    const spying = engineWith(['data.freeze']);
    const liveData = (spying as unknown as { liveData: (l: typeof live) => unknown }).liveData.bind(
      spying,
    );
    seen.push(liveData(live), liveData(live));
    expect(seen[0]).toBe(seen[1]);
    expect(liveData({ ...live, revision: 8 })).not.toBe(seen[0]);
  });

  it('leaves the Git data object as it is when no live data is declared', () => {
    const { liveData: _live, signals: _signals, ...plain } = SETTINGS;
    const engine = engineWith(['size(data.network.office) == 1'], plain);
    expect(truths(engine, { live: { revision: 1, documents: { network: {} } } })).toEqual(['r0']);
  });
});

describe('a shipped policy set', () => {
  const shipped = (settings: unknown) =>
    JSON.stringify({ format: POLICY_SET_FORMAT, settings, data: {}, policies: [] });

  it('refuses live data and signal names the compiler would not produce', () => {
    for (const settings of [
      { ...SETTINGS, liveData: { 'Bad-Name': { schema: {}, default: 1 } } },
      { ...SETTINGS, signals: { constructor: { event: 'e', window: 60, aggregate: 'count' } } },
    ])
      expect(() => parsePolicySet(shipped(settings))).toThrow(
        /policy set is invalid at settings\.(liveData|signals)/,
      );
  });

  it('never gives a document the name __proto__', () => {
    const settings = {
      ...SETTINGS,
      liveData: JSON.parse('{"__proto__": {"schema": {}, "default": 1}}'),
    };
    expect(Object.keys(parsePolicySet(shipped(settings)).settings.liveData ?? {})).toEqual([]);
  });
});

describe('signals in decisions', () => {
  const engine = engineWith([
    'signals.failed_logins >= 3',
    'signals.new_device',
    'signals.last_country == "CH"',
    'signals.countries + 1 > 2',
  ]);

  it('reads zero values when the principal has none', () => {
    expect(truths(engine)).toEqual([]);
    expect(truths(engine, { signals: {} })).toEqual([]);
  });

  it("reads the principal's values, counts as CEL ints", () => {
    expect(
      truths(engine, {
        signals: { failed_logins: 3, new_device: true, last_country: 'CH', countries: 2 },
      }),
    ).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(truths(engine, { signals: { failed_logins: 2, countries: 1, other: 9 } })).toEqual([]);
  });

  it('zero values by aggregate', () => {
    expect(['count', 'exists', 'last', 'distinct'].map((a) => signalZeroValue(a as never))).toEqual(
      [0n, false, null, 0n],
    );
  });
});

describe('validateLiveDocument', () => {
  it('accepts a value its schema accepts', () => {
    expect(validateLiveDocument(SETTINGS, 'blocked_ips', ['10.0.0.0/8'])).toEqual([]);
  });

  it('reports where and why a value does not match', () => {
    expect(validateLiveDocument(SETTINGS, 'blocked_ips', ['10.0.0.0/8', 'nope', 3])).toEqual([
      '/1: must match pattern "^[0-9./]+$"',
      '/2: must be string',
    ]);
  });

  it('refuses an undeclared document and keys that reach object internals', () => {
    expect(validateLiveDocument(SETTINGS, 'blocked', [])).toEqual([
      '"blocked" is not a live data document declared in stepgate.yaml (declared: blocked_ips, freeze)',
    ]);
    expect(validateLiveDocument(SETTINGS, 'toString', [])[0]).toContain('is not a live data');
    const settings: Settings = {
      ...SETTINGS,
      liveData: { limits: { schema: { type: 'object' }, default: {} } },
    };
    expect(validateLiveDocument(settings, 'limits', JSON.parse('{"a":{"__proto__":1}}'))).toEqual([
      'key "__proto__" at a.__proto__ is not allowed: "__proto__", "constructor" and "prototype" reach JavaScript\'s object internals',
    ]);
  });
});
