import { describe, expect, it } from 'vitest';
import { compileErrors, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { compile } from '../compile/compile.js';
import { PolicyEngine } from '../evaluate/engine.js';
import { describeDecision, runTestSuites } from './run-tests.js';

const FRESH_MFA = policy(
  'deploys',
  `  - name: allow
    effect: allow
  - name: fresh-mfa
    effect: step_up
    require: { level: mfa, maxAge: 15m }
`,
);

/** One case: an MFA login 20 minutes old, against a rule that wants MFA within 15 minutes. */
const staleMfaCase = (expectation: string) =>
  `apiVersion: stepgate/v1
kind: TestSuite
name: t
now: "2026-11-23T10:00:00Z"
cases:
  - name: stale mfa
    input:
      principal: { id: alice }
      action: deploy
      resource: { kind: env, id: prod }
      auth: { level: mfa, authTime: "2026-11-23T09:40:00Z" }
    expect: ${expectation}
`;

function run(expectation: string) {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'deploys.yaml', content: FRESH_MFA },
    { path: 'deploys.test.yaml', content: staleMfaCase(expectation) },
  ]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  const report = runTestSuites(new PolicyEngine(result.policySet), result.testSuites);
  const outcome = report.suites[0]?.cases[0];
  if (!outcome) throw new Error('no case ran');
  return outcome;
}

describe('runTestSuites: requirements', () => {
  it('passes a case that expects the complete requirement and its unmet part', () => {
    const outcome = run(
      '{ effect: step_up, require: { level: mfa, maxAge: 15m }, unmet: [maxAge], rule: deploys/fresh-mfa }',
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.passed).toBe(true);
    expect(outcome.actual.unmet).toEqual(['maxAge']);
  });

  it('fails a case that expects only the missing part as the requirement', () => {
    const outcome = run('{ effect: step_up, require: { maxAge: 15m } }');
    expect(outcome.passed).toBe(false);
    expect(outcome.failures).toEqual([
      'expected no require.level, got mfa (require is the complete requirement: list every part)',
    ]);
  });

  it('fails a case whose unmet parts differ, whatever their order', () => {
    expect(run('{ effect: step_up, unmet: [maxAge, level] }').failures).toEqual([
      'expected unmet [maxAge, level], got [maxAge]',
    ]);
    expect(run('{ effect: step_up, unmet: [level] }').failures).toEqual([
      'expected unmet [level], got [maxAge]',
    ]);
  });

  it('describes a step-up with its requirement and unmet parts', () => {
    expect(
      describeDecision({
        effect: 'step_up',
        require: { level: 'mfa', maxAge: 900 },
        unmet: ['maxAge'],
        reasons: [{ policy: 'deploys', rule: 'fresh-mfa', effect: 'step_up' }],
      }),
    ).toBe('step_up (level mfa, maxAge 15m; unmet maxAge) by deploys/fresh-mfa');
  });
});

describe('compiling test expectations', () => {
  it('refuses unmet on an effect other than step_up, and unknown part names', () => {
    const errors = compileErrors({
      'deploys.yaml': FRESH_MFA,
      'deploys.test.yaml': staleMfaCase('{ effect: allow, unmet: [maxAge] }'),
      'other.test.yaml': staleMfaCase('{ effect: step_up, unmet: [freshness] }'),
    });
    expect(errors.map((e) => [e.file, e.code])).toEqual([
      ['deploys.test.yaml', 'test/invalid'],
      ['other.test.yaml', expect.any(String)],
    ]);
    expect(errors[0]?.message).toMatch(/expect\.unmet only applies to effect step_up/);
    expect(errors[1]?.message).toMatch(/level.*maxAge.*approvals/);
  });

  it('refuses a sub-second maxAge in an expected requirement', () => {
    const errors = compileErrors({
      'deploys.yaml': FRESH_MFA,
      'deploys.test.yaml': staleMfaCase('{ effect: step_up, require: { maxAge: 1500ms } }'),
    });
    expect(errors.map((e) => e.message)).toEqual([
      'maxAge must be whole seconds: "1500ms" is 1.5s (write e.g. 2s)',
    ]);
  });
});
