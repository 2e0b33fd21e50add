import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { compile } from './compile.js';

const allow = `  - name: allow
    effect: allow
`;

describe('compile: valid repositories', () => {
  it('compiles policies, data and settings into a plain-data policy set', () => {
    const set = compileOk({
      'data/network.yaml': 'corporate: ["10.0.0.0/8"]\n',
      'data/geo/blocked.json': '{"countries": ["KP"]}',
      'k8s/p.yaml': policy(
        'p',
        `${allow}  - name: corp
    effect: deny
    when: '!context.ip.inCidr(data.network.corporate) || context.country in data.geo.blocked.countries'
`,
        'target:\n  actions: ["k8s:*"]\n',
      ),
    });
    expect(set.settings.levels.map((l) => l.name)).toEqual(['pwd', 'mfa', 'phishing_resistant']);
    expect(set.data).toEqual({
      network: { corporate: ['10.0.0.0/8'] },
      geo: { blocked: { countries: ['KP'] } },
    });
    expect(set.policies[0]).toMatchObject({
      name: 'p',
      file: 'k8s/p.yaml',
      target: { actions: ['k8s:*'] },
    });
    expect(set.policies[0]?.rules.map((r) => r.mode)).toEqual(['enforce', 'enforce']);
    expect(JSON.parse(JSON.stringify(set))).toEqual(set);
  });

  it('defaults to deny with no levels when stepgate.yaml is absent', () => {
    const result = compile([{ path: 'p.yaml', content: policy('p', allow) }]);
    expect(result.ok && result.policySet.settings).toEqual({
      defaultEffect: 'deny',
      onError: 'deny',
      levels: [],
      issuers: [],
      mask: [],
    });
  });

  it('accepts several policies in one file separated by ---', () => {
    const set = compileOk({ 'p.yaml': `${policy('a', allow)}---\n${policy('b', allow)}` });
    expect(set.policies.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('stores maxAge in seconds', () => {
    const set = compileOk({
      'p.yaml': policy(
        'p',
        `  - name: s
    effect: step_up
    require: { level: mfa, maxAge: 1h30m, approvals: 2 }
`,
      ),
    });
    expect(set.policies[0]?.rules[0]?.require).toEqual({
      level: 'mfa',
      maxAge: 5400,
      approvals: 2,
    });
  });
});

describe('compile: every kind of bad input is a located error', () => {
  const only = (errors: ReturnType<typeof compileErrors>, code: string) =>
    errors.filter((e) => e.code === code);

  it('malformed YAML names file, line and column', () => {
    const [error] = compileErrors({
      'p.yaml': 'apiVersion: stepgate/v1\nkind: Policy\nname: [oops\n',
    });
    expect(error).toMatchObject({ code: 'yaml/syntax', file: 'p.yaml' });
    expect(error?.line).toBeGreaterThan(0);
  });

  it('unknown fields are errors at the field, with the allowed fields named', () => {
    const errors = compileErrors({
      'p.yaml': policy(
        'p',
        `  - name: r
    effect: allow
    whn: 'true'
`,
      ),
    });
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'schema/invalid',
        file: 'p.yaml',
        line: 7,
        column: 5,
        policy: 'p',
        rule: 'r',
      }),
    ]);
    expect(errors[0]?.message).toMatch(/unknown field "whn".*when/);
  });

  it('wrong types and missing fields are reported with their path', () => {
    const errors = compileErrors({
      'p.yaml':
        'apiVersion: stepgate/v1\nkind: Policy\nname: p\nrules:\n  - name: r\n    effect: permit\n    when: 42\n',
    });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^rules\[0\]\.effect: /),
      expect.stringMatching(/^rules\[0\]\.when: .*string/),
    ]);
    expect(errors.map((e) => e.line)).toEqual([6, 7]);
    const missing = compileErrors({
      'p.yaml': 'apiVersion: stepgate/v1\nkind: Policy\nrules: []\n',
    });
    expect(missing.map((e) => e.message).join('\n')).toMatch(/name: is required/);
  });

  it('CEL syntax and type errors point at the position inside the expression', () => {
    const errors = compileErrors({
      'p.yaml': policy(
        'p',
        `  - name: typo
    effect: allow
    when: '"admin" in principal.rolez'
  - name: syntax
    effect: allow
    when: principal.id ==
  - name: unknown-fn
    effect: allow
    when: frobnicate(principal.id)
  - name: block
    effect: allow
    when: |
      principal.id == "x" &&
        data.nope == 1
`,
      ),
    });
    expect(errors.map((e) => [e.code, e.rule, e.line, e.column])).toEqual([
      ['cel/type', 'typo', 7, 33],
      ['cel/syntax', 'syntax', 10, expect.any(Number)],
      ['cel/type', 'unknown-fn', 13, 11],
      ['cel/type', 'block', 18, 14],
    ]);
    expect(errors[0]?.message).toMatch(/rolez/);
    expect(errors[3]?.message).toMatch(/nope/);
  });

  it('a condition that is not a bool is an error', () => {
    const [error] = compileErrors({
      'p.yaml': policy(
        'p',
        `  - name: r
    effect: allow
    when: principal.id
`,
      ),
    });
    expect(error).toMatchObject({ code: 'cel/not_boolean', rule: 'r' });
    expect(error?.message).toMatch(/string/);
  });

  it('duplicate policy and rule names', () => {
    const errors = compileErrors({
      'a.yaml': policy('same', `${allow}${allow}`),
      'b.yaml': policy('same', allow),
    });
    expect(only(errors, 'rule/duplicate')).toHaveLength(1);
    expect(only(errors, 'policy/duplicate')[0]).toMatchObject({ file: 'b.yaml', line: 3 });
    expect(only(errors, 'policy/duplicate')[0]?.message).toMatch(/a\.yaml/);
  });

  it('unknown level names, bad durations and empty requirements', () => {
    const errors = compileErrors({
      'p.yaml': policy(
        'p',
        `  - name: a
    effect: step_up
    require: { level: superuser }
  - name: b
    effect: step_up
    require: { maxAge: soon }
  - name: c
    effect: step_up
  - name: d
    effect: allow
    require: { level: mfa }
`,
      ),
    });
    expect(errors.map((e) => [e.code, e.rule])).toEqual([
      ['level/unknown', 'a'],
      ['rule/invalid', 'b'],
      ['rule/invalid', 'c'],
      ['rule/invalid', 'd'],
    ]);
    expect(errors[0]?.message).toMatch(/pwd, mfa, phishing_resistant/);
  });

  it('a maxAge that is not whole seconds, or is zero, is refused where it is written', () => {
    const errors = compileErrors({
      'p.yaml': policy(
        'p',
        `${allow}  - name: ms
    effect: step_up
    require: { level: mfa, maxAge: 1500ms }
  - name: half
    effect: step_up
    require: { maxAge: 0.5s }
  - name: number
    effect: step_up
    require: { maxAge: 90.5 }
  - name: zero
    effect: step_up
    require: { maxAge: 0s }
  - name: whole
    effect: step_up
    require: { maxAge: 1m30s }
`,
      ),
    });
    expect(errors.map((e) => [e.code, e.rule, e.file, e.line])).toEqual([
      ['rule/invalid', 'ms', 'p.yaml', 9],
      ['rule/invalid', 'half', 'p.yaml', 12],
      ['rule/invalid', 'number', 'p.yaml', 15],
      ['rule/invalid', 'zero', 'p.yaml', 18],
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      'maxAge must be whole seconds: "1500ms" is 1.5s (write e.g. 2s)',
      'maxAge must be whole seconds: "0.5s" is 0.5s (write e.g. 1s)',
      'maxAge must be whole seconds: 90.5 is 90.5s (write e.g. 91s)',
      'maxAge must be at least 1s: "0s"',
    ]);
  });

  it('missing data references and cyclic data are errors', () => {
    const errors = compileErrors({
      'data/cycle.yaml': 'a: &x\n  b: *x\n',
      'p.yaml': policy(
        'p',
        `  - name: r
    effect: allow
    when: context.ip in data.network.corporate
`,
      ),
    });
    expect(only(errors, 'yaml/cycle')[0]).toMatchObject({ file: 'data/cycle.yaml', line: 2 });
    expect(only(errors, 'cel/type')[0]?.message).toMatch(/network/);
  });

  it.each([
    ['__proto__', 'data/net.yaml', 'corporate: ["10.0.0.0/8"]\nextra:\n  __proto__: { a: 1 }\n', 3],
    [
      '__proto__',
      'data/net.json',
      '{\n  "corporate": ["10.0.0.0/8"],\n  "__proto__": {"a": 1}\n}',
      3,
    ],
    ['constructor', 'data/net.yaml', 'corporate: ["10.0.0.0/8"]\nteams:\n  - constructor: x\n', 3],
    ['prototype', 'data/net.yaml', 'corporate: ["10.0.0.0/8"]\nprototype: 1\n', 2],
  ])('a data key %s (in %s) is refused with file and line', (key, path, content, line) => {
    const errors = compileErrors({
      [path]: content,
      'p.yaml': policy(
        'p',
        `  - name: r
    effect: allow
    when: context.ip.inCidr(data.net.corporate)
`,
      ),
    });
    expect(only(errors, 'data/invalid')).toEqual([
      expect.objectContaining({
        file: path,
        line,
        message: expect.stringContaining(`data key "${key}"`),
      }),
    ]);
  });

  it('data paths defined by two files are an error', () => {
    const errors = compileErrors({
      'data/a.yaml': 'b: 1\n',
      'data/a/b.yaml': '2\n',
      'p.yaml': policy('p', allow),
    });
    expect(errors[0]).toMatchObject({ code: 'data/duplicate' });
  });

  it('invalid globs in targets', () => {
    const [error] = compileErrors({
      'p.yaml': policy('p', allow, 'target:\n  actions: ["a{b"]\n'),
    });
    expect(error).toMatchObject({ code: 'glob/invalid', line: 5 });
  });

  it('documents in the wrong file kind', () => {
    const [error] = compileErrors({
      'p.yaml': 'apiVersion: stepgate/v1\nkind: TestSuite\nname: x\ncases: []\n',
    });
    expect(error).toMatchObject({ code: 'file/kind' });
  });

  it('reports the errors of every file at once', () => {
    const errors = compileErrors({
      'stepgate.yaml': SETTINGS.replace('onError: deny', 'onError: maybe'),
      'a.yaml': policy('a', '  - name: r\n    effect: allow\n    when: nope\n'),
      'b.yaml': 'kind: [',
      'c.test.yaml':
        'apiVersion: stepgate/v1\nkind: TestSuite\nname: t\ncases:\n  - name: x\n    input: { principal: { id: a }, action: x, resource: { kind: k, id: i } }\n    expect: { effect: allow, rule: a/missing }\n',
    });
    expect(new Set(errors.map((e) => e.file))).toEqual(
      new Set(['stepgate.yaml', 'a.yaml', 'b.yaml', 'c.test.yaml']),
    );
  });
});

describe('compile: test suites', () => {
  const suite = (cases: string, extra = '') =>
    `apiVersion: stepgate/v1\nkind: TestSuite\nname: t\n${extra}cases:\n${cases}`;

  it('parses cases, separating verified auth from the request and fixing now', () => {
    const result = compile([
      { path: 'stepgate.yaml', content: SETTINGS },
      { path: 'p.yaml', content: policy('p', allow) },
      {
        path: 'p.test.yaml',
        content: suite(
          `  - name: one
    input: { principal: { id: a }, action: x, resource: { kind: k, id: i }, auth: { level: mfa, authTime: "2026-11-23T09:56:00Z" } }
    expect: { effect: step_up, require: { maxAge: 5m }, rule: p/allow }
`,
          'now: "2026-11-23T10:00:00Z"\n',
        ),
      },
    ]);
    expect(result.ok).toBe(true);
    const testCase = result.testSuites?.[0]?.cases[0];
    expect(testCase?.now.toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(testCase?.request).toEqual({
      principal: { id: 'a' },
      action: 'x',
      resource: { kind: 'k', id: 'i' },
    });
    expect(testCase?.evidence?.level).toBe('mfa');
    expect(testCase?.expect).toEqual({
      effect: 'step_up',
      require: { maxAge: 300 },
      rule: 'p/allow',
    });
  });

  it('rejects unknown rules, unknown levels and bad timestamps in tests', () => {
    const errors = compileErrors({
      'p.yaml': policy('p', allow),
      'p.test.yaml': suite(`  - name: one
    now: yesterday
    input: { principal: { id: a }, action: x, resource: { kind: k, id: i }, auth: { level: root } }
    expect: { effect: allow, rule: p/nope }
`),
    });
    expect(errors.map((e) => e.code).sort()).toEqual([
      'level/unknown',
      'test/invalid',
      'test/unknown_rule',
    ]);
  });
});

describe('compile: masking and agent selectors', () => {
  it('keeps mask paths in the settings and rejects paths outside the input', () => {
    const set = compileOk({
      'stepgate.yaml': `${SETTINGS}mask: [context.ip, principal.attributes.email, context.ip, actionAttributes.reason]\n`,
      'p.yaml': policy('p', allow),
    });
    expect(set.settings.mask).toEqual([
      'context.ip',
      'principal.attributes.email',
      'actionAttributes.reason',
    ]);
    const errors = compileErrors({
      'stepgate.yaml': `${SETTINGS}mask: [auth.level]\n`,
      'p.yaml': policy('p', allow),
    });
    expect(errors[0]?.message).toMatch(
      /mask\[0\].*principal, actionAttributes, resource or context/,
    );
  });

  it('compiles an agents selector onto the policy', () => {
    const set = compileOk({ 'p.yaml': `${policy('p', allow)}agents: { env: prod }\n` });
    expect(set.policies[0]?.agents).toEqual({ env: 'prod' });
  });
});
