import { describe, expect, it } from 'vitest';
import { compileErrors, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { compile } from '../compile/compile.js';
import { PolicyEngine } from '../evaluate/engine.js';
import { runTestSuites } from './run-tests.js';

const LIVE_SETTINGS = `${SETTINGS}liveData:
  blocked_ips: { schema: schemas/cidrs.json, default: [] }
signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
  new_device: { event: new_device, window: 24h, aggregate: exists }
  last_country: { event: login, field: country, window: 30d, aggregate: last }
`;

const RISK = policy(
  'risk',
  `  - name: allow
    effect: allow
  - name: blocked
    effect: deny
    when: context.ip.inCidr(data.blocked_ips)
  - name: failed-logins
    effect: step_up
    when: signals.failed_logins >= 3
    require: { level: mfa }
  - name: new-device
    effect: step_up
    when: signals.new_device && signals.last_country != "CH"
    require: { level: phishing_resistant }
`,
);

/** A suite of cases, each `input` extra (indented YAML) and `expect`. */
function suite(cases: [string, string][]): string {
  return `apiVersion: stepgate/v1
kind: TestSuite
name: risk
now: "2026-11-23T10:00:00Z"
cases:
${cases
  .map(
    ([input, expect], index) => `  - name: case ${index}
    input:
      principal: { id: alice }
      action: deploy
      resource: { kind: env, id: prod }
      context: { ip: 192.0.2.7 }
${input}
    expect: ${expect}
`,
  )
  .join('')}`;
}

function files(tests: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'stepgate.yaml': LIVE_SETTINGS,
    'schemas/cidrs.json': '{"type": "array", "items": {"type": "string", "pattern": "/"}}',
    'risk.yaml': RISK,
    'risk.test.yaml': tests,
    ...extra,
  };
}

function run(cases: [string, string][]) {
  const result = compile(
    Object.entries(files(suite(cases))).map(([path, content]) => ({ path, content })),
  );
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return runTestSuites(new PolicyEngine(result.policySet), result.testSuites).suites[0]?.cases;
}

describe('test cases with input.data and input.signals', () => {
  it('runs each case with its own live data and signals, defaults and zero values otherwise', () => {
    const outcomes = run([
      ['', '{ effect: allow }'],
      ['      data: { blocked_ips: ["192.0.2.0/24"] }', '{ effect: deny, rule: risk/blocked }'],
      ['      data: { blocked_ips: ["198.51.100.0/24"] }', '{ effect: allow }'],
      [
        '      signals: { failed_logins: 3 }',
        '{ effect: step_up, require: { level: mfa }, rule: risk/failed-logins }',
      ],
      ['      signals: { failed_logins: 2 }', '{ effect: allow }'],
      [
        '      signals: { new_device: true, last_country: DE }',
        '{ effect: step_up, require: { level: phishing_resistant } }',
      ],
      ['      signals: { new_device: true, last_country: CH }', '{ effect: allow }'],
      // The case before set data; this one again reads the default.
      ['', '{ effect: allow }'],
    ]);
    expect(outcomes?.map((outcome) => outcome.failures)).toEqual(Array(8).fill([]));
  });

  it('fails a case whose expectation the live data or a signal contradicts', () => {
    const outcomes = run([
      ['      data: { blocked_ips: ["192.0.2.7/32"] }', '{ effect: allow }'],
      ['      signals: { failed_logins: 5 }', '{ effect: allow }'],
    ]);
    expect(outcomes?.map((outcome) => outcome.passed)).toEqual([false, false]);
  });

  it('reports undeclared names, Git data, values of the wrong type and off-schema data', () => {
    const errors = compileErrors(
      files(
        suite([
          [
            '      signals: { failed_loginz: 1, failed_logins: -1, new_device: "yes", last_country: 7 }',
            '{ effect: allow }',
          ],
          [
            '      data: { network: [], blocked_ipz: [], blocked_ips: ["no-slash"] }',
            '{ effect: allow }',
          ],
        ]),
        { 'data/network.yaml': '[]' },
      ),
    ).map((error) => `${error.file}:${error.line} ${error.message}`);
    expect(errors).toEqual([
      'risk.test.yaml:12 input.signals.failed_loginz is not a signal declared in stepgate.yaml (declared: failed_logins, new_device, last_country)',
      'risk.test.yaml:12 input.signals.failed_logins is a count: write a whole number from 0, got -1',
      'risk.test.yaml:12 input.signals.new_device is an exists signal: write true or false, got "yes"',
      'risk.test.yaml:20 input.data.network is Git data (data/network.yaml or the folder data/network/), which a test cannot override; only live data documents (stepgate.yaml liveData) can be set per case',
      'risk.test.yaml:20 input.data.blocked_ipz is not a live data document declared in stepgate.yaml (declared: blocked_ips)',
      'risk.test.yaml:20 input.data.blocked_ips does not match its schema: /0: must match pattern "/"',
    ]);
  });
});
