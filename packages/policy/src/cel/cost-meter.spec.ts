import { describe, expect, it } from 'vitest';
import { SETTINGS, compileOk } from '../__support__/policy-fixture.js';
import { compile } from '../compile/compile.js';
import { runTestSuites } from '../testing/run-tests.js';
import { PolicyEngine } from '../evaluate/engine.js';
import { POLICY_SET_FORMAT, type CompiledPolicySet, type DecisionRequest } from '../model.js';
import { COST_LIMITS, CostMeter, DECISION_BUDGET_FACTOR } from './cost-meter.js';

/**
 * The run-time budget, on policy sets built directly (as an agent receives them in a bundle),
 * so that nothing here depends on the compile-time estimate refusing the expression first.
 */
function engine(
  conditions: string[],
  options: {
    data?: Record<string, unknown>;
    onError?: 'deny' | 'ignore';
    extraAllow?: boolean;
  } = {},
): PolicyEngine {
  const rules = conditions.map((when, index) => ({
    name: `r${index}`,
    effect: 'allow' as const,
    mode: 'enforce' as const,
    when,
  }));
  if (options.extraAllow)
    rules.push({ name: 'fallback', effect: 'allow', mode: 'enforce', when: 'true' });
  const policySet: CompiledPolicySet = {
    format: POLICY_SET_FORMAT,
    settings: {
      defaultEffect: 'deny',
      onError: options.onError ?? 'deny',
      levels: [],
      issuers: [],
      mask: [],
    },
    policies: [{ name: 'p', file: 'p.yaml', target: {}, rules }],
    data: options.data ?? {},
  };
  return new PolicyEngine(policySet);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

function request(
  roles: string[] = range(20),
  context: Record<string, unknown> = {},
): DecisionRequest {
  return {
    principal: { id: 'alice', roles, groups: ['sre'] },
    action: 'deploy',
    resource: { kind: 'service', id: 'prod/api' },
    context,
  };
}

const nestedAll = (depth: number, over = 'principal.roles') => {
  let body = 'true';
  for (let level = depth; level >= 1; level--)
    body = `${over}.all(v${level}, ${body} && v${level} != "")`;
  return body;
};

const costErrors = (decision: ReturnType<PolicyEngine['decide']>) =>
  (decision.errors ?? []).filter((error) => error.code === 'cel/cost');

describe('cost budget at run time', () => {
  it('stops six nested .all() over the request (the control-plane stall) with a budget error -> onError deny', () => {
    const decision = engine([nestedAll(6)]).decide(request(range(20)));
    expect(decision.effect).toBe('deny');
    expect(decision.reasons[0]?.message).toMatch(
      /condition failed \(onError: deny\): cost budget exceeded/,
    );
    expect(costErrors(decision)).toEqual([
      {
        policy: 'p',
        rule: 'r0',
        code: 'cel/cost',
        message: expect.stringMatching(
          /more iterations .* than allowed for one condition \(100000\)/,
        ),
      },
    ]);
  });

  it('stops six nested .all() over a literal list (the agent stall on POST /v1/decide)', () => {
    const list = `[${Array.from({ length: 20 }, (_, i) => i).join(', ')}]`;
    const decision = engine([nestedAll(6, list).replaceAll('!= ""', '>= 0')]).decide(request());
    expect(costErrors(decision)).toHaveLength(1);
  });

  it('stops five nested .map() over 60 elements before it builds the 777-million-element result', () => {
    let expression = 'data.sixty.map(e, e)';
    for (let level = 1; level < 5; level++) expression = `data.sixty.map(m${level}, ${expression})`;
    const decision = engine([`size(${expression}) > 0`], {
      data: { sixty: Array.from({ length: 60 }, (_, i) => i) },
    }).decide(request());
    expect(costErrors(decision)).toHaveLength(1);
  });

  it('counts the elements a step scans, not only the steps: x in big for every x in big', () => {
    const big = range(2_000);
    const decision = engine(['data.big.all(x, x in data.big)'], { data: { big } }).decide(
      request(),
    );
    expect(costErrors(decision)).toHaveLength(1);
    // The same list searched once, outside any comprehension, is a normal condition.
    expect(engine(['"r1999" in data.big'], { data: { big } }).decide(request()).effect).toBe(
      'allow',
    );
  });

  it('finds a map key in one step: k in a big map for every k in it stays within budget', () => {
    const big = Object.fromEntries(range(2_000).map((key) => [key, { teams: ['ops'] }]));
    const decision = engine(['data.big.all(k, k in data.big && "ops" in data.big[k].teams)'], {
      data: { big },
    }).decide(request());
    expect(decision.errors).toBeUndefined();
    expect(decision.effect).toBe('allow');
  });

  it('counts long strings a step passes to functions (one iteration per 100 characters)', () => {
    const decision = engine(['data.items.all(i, !data.text.contains(i))'], {
      data: { items: range(1_000), text: 'x'.repeat(20_000) },
    }).decide(request());
    expect(costErrors(decision)).toHaveLength(1);
  });

  it('stops values that double through cel.bind (built size), outside any comprehension', () => {
    let expression = 'size(s20) > 0';
    for (let level = 20; level >= 1; level--)
      expression = `cel.bind(s${level}, s${level - 1} + s${level - 1}, ${expression})`;
    expression = `cel.bind(s0, "abcdefgh", ${expression})`;
    const decision = engine([expression]).decide(request());
    expect(costErrors(decision)[0]?.message).toMatch(/larger values built .* \(1000000\)/);
  });

  it('is not absorbed by CEL error semantics: expensive || true still fails', () => {
    const decision = engine([`${nestedAll(6)} || true`], { extraAllow: false }).decide(request());
    expect(decision.effect).toBe('deny');
    expect(costErrors(decision)).toHaveLength(1);
    const exists = engine([`principal.roles.exists(a, ${nestedAll(5)} || a == "r0")`]).decide(
      request(),
    );
    expect(costErrors(exists)).toHaveLength(1);
  });

  it('with onError: ignore the rule is skipped and the other rules decide', () => {
    const decision = engine([nestedAll(6)], { onError: 'ignore', extraAllow: true }).decide(
      request(),
    );
    expect(decision.effect).toBe('allow');
    expect(decision.reasons.map((r) => r.rule)).toEqual(['fallback']);
    expect(costErrors(decision)).toHaveLength(1);
  });

  it('limits the conditions of one decision together, and starts every decision afresh', () => {
    // Each condition spends 99,300 iterations: under the condition budget, but not 11 of them.
    const spend = 'data.a.all(x, data.b.all(y, x != y))';
    const data = { a: range(300), b: Array.from({ length: 330 }, (_, i) => `b${i}`) };
    const many = engine(
      Array.from({ length: DECISION_BUDGET_FACTOR + 1 }, () => spend),
      { data },
    );
    for (let round = 0; round < 2; round++) {
      const decision = many.decide(request());
      expect(costErrors(decision)).toEqual([
        expect.objectContaining({
          rule: `r${DECISION_BUDGET_FACTOR}`,
          message: expect.stringMatching(/the conditions of one decision/),
        }),
      ]);
    }
  });

  it('leaves reasonable comprehensions alone, and the engine reusable after a budget error', () => {
    const files = {
      'stepgate.yaml': SETTINGS,
      'data/kubernetes.yaml': 'readers: ["sre", "dev"]\noperators: ["sre"]\n',
      'p.yaml': `apiVersion: stepgate/v1
kind: Policy
name: p
rules:
  - name: readers
    effect: allow
    when: 'principal.groups.exists(g, g in data.kubernetes.readers) && principal.roles.map(r, r.upperAscii()).filter(r, r.startsWith("R")).size() >= 0'
`,
    };
    const policy = new PolicyEngine(compileOk(files));
    const decision = policy.decide(request(range(500)));
    expect(decision).toMatchObject({ effect: 'allow' });
    expect(decision.errors).toBeUndefined();

    // One pass with a string function over a 50,000-entry threat list.
    const ips = Array.from({ length: 50_000 }, (_, i) => `10.${i >> 8}.${i & 255}.1/32`);
    const threats = engine(['!data.ips.exists(c, c.startsWith(context.prefix))'], {
      data: { ips },
    }).decide(request([], { prefix: '192.' }));
    expect(threats.errors).toBeUndefined();
    expect(threats.effect).toBe('allow');

    const heavy = engine([nestedAll(6), 'principal.roles.exists(r, r == "r3")']);
    expect(costErrors(heavy.decide(request()))).toHaveLength(1);
    const light = heavy.decide(request(['r3']));
    expect(light.effect).toBe('allow');
    expect(light.errors).toBeUndefined();
  });
});

describe('policy tests and the budget', () => {
  it('fail a case whose decision went over budget, even when it expects the onError effect', () => {
    const roles = JSON.stringify(range(100));
    const result = compile([
      { path: 'stepgate.yaml', content: SETTINGS },
      {
        path: 'p.yaml',
        content: `apiVersion: stepgate/v1
kind: Policy
name: p
rules:
  - name: cubic
    effect: allow
    when: '${nestedAll(3)}'
`,
      },
      {
        path: 'p.test.yaml',
        content: `apiVersion: stepgate/v1
kind: TestSuite
name: cubic
cases:
  - name: many roles
    input:
      principal: { id: alice, roles: ${roles} }
      action: deploy
      resource: { kind: service, id: api }
    expect: { effect: deny }
`,
      },
    ]);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const report = runTestSuites(new PolicyEngine(result.policySet), result.testSuites);
    expect(report.failed).toBe(1);
    expect(report.suites[0]?.cases[0]?.failures).toEqual([
      expect.stringMatching(/^p\/cubic went over its cost budget: cost budget exceeded/),
    ]);
  });
});

describe('CostMeter', () => {
  it('throws the same error once over the limit and reports it until the next condition', () => {
    const meter = new CostMeter({ maxIterations: 3, maxBuiltSize: 5 });
    meter.startCondition();
    meter.step();
    meter.scan(2);
    expect(() => meter.step()).toThrow(/one condition \(3\)/);
    const failure = meter.failure;
    expect(() => meter.step()).toThrow(failure);
    meter.startCondition();
    expect(meter.failure).toBeUndefined();
    expect(COST_LIMITS.maxIterations).toBeGreaterThan(10_000);
  });
});
