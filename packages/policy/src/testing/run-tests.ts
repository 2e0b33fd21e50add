import { formatDuration } from '../duration.js';
import type { PolicyEngine } from '../evaluate/engine.js';
import { REQUIREMENT_PARTS, type Decision, type Requirement } from '../model.js';
import type { TestCase, TestExpectation, TestSuite } from './test-suite.js';

export interface CaseResult {
  name: string;
  line?: number;
  passed: boolean;
  /** Why the case failed, one sentence per mismatch; empty when it passed. */
  failures: string[];
  /** Set when the case could not run at all (the engine threw), as opposed to a mismatch. */
  error?: string;
  expected: TestExpectation;
  actual: Pick<Decision, 'effect' | 'require' | 'unmet' | 'reasons' | 'audit' | 'errors'>;
  /** Wall-clock time of the case, for CI reports. */
  durationMs: number;
}

export interface SuiteResult {
  file: string;
  name: string;
  passed: number;
  failed: number;
  cases: CaseResult[];
  durationMs: number;
}

export interface TestReport {
  passed: number;
  failed: number;
  suites: SuiteResult[];
}

export type ProgressListener = (done: number, total: number) => void;

/** Runs every case of every suite against the engine; never throws for a failing case. */
export function runTestSuites(
  engine: PolicyEngine,
  suites: readonly TestSuite[],
  onProgress?: ProgressListener,
): TestReport {
  const total = suites.reduce((sum, suite) => sum + suite.cases.length, 0);
  let done = 0;
  const report: TestReport = { passed: 0, failed: 0, suites: [] };
  for (const suite of suites) {
    const result: SuiteResult = {
      file: suite.file,
      name: suite.name,
      passed: 0,
      failed: 0,
      cases: [],
      durationMs: 0,
    };
    for (const testCase of suite.cases) {
      const started = performance.now();
      const outcome = runCase(engine, testCase);
      outcome.durationMs = performance.now() - started;
      result.durationMs += outcome.durationMs;
      result.cases.push(outcome);
      if (outcome.passed) result.passed++;
      else result.failed++;
      onProgress?.(++done, total);
    }
    report.passed += result.passed;
    report.failed += result.failed;
    report.suites.push(result);
  }
  return report;
}

function runCase(engine: PolicyEngine, testCase: TestCase): CaseResult {
  const { expect } = testCase;
  let decision: Decision;
  try {
    decision = engine.decide(testCase.request, testCase.evidence, {
      now: testCase.now,
      decisionId: 'test',
      ...(testCase.live && { live: testCase.live }),
      ...(testCase.signals && { signals: testCase.signals }),
    });
  } catch (error) {
    const message = `the request could not be evaluated: ${(error as Error).message}`;
    return withLine(testCase, {
      name: testCase.name,
      passed: false,
      failures: [message],
      error: message,
      expected: expect,
      actual: { effect: 'deny', reasons: [] },
      durationMs: 0,
    });
  }
  const failures: string[] = [];
  // Over budget, a condition falls to onError, which a case may even expect; it still fails,
  // since agents would answer that request from onError instead of the policy.
  for (const error of decision.errors ?? []) {
    if (error.code === 'cel/cost')
      failures.push(`${error.policy}/${error.rule} went over its cost budget: ${error.message}`);
  }
  if (decision.effect !== expect.effect)
    failures.push(`expected effect ${expect.effect}, got ${describeDecision(decision)}`);
  if (expect.require) {
    // Exact: a step-up asks for the complete requirement, and a part the case leaves out is
    // one the challenge would carry all the same.
    for (const key of REQUIREMENT_PARTS) {
      const wanted = expect.require[key];
      const got = decision.require?.[key];
      if (got === wanted) continue;
      failures.push(
        wanted === undefined
          ? `expected no require.${key}, got ${show(key, got as string | number)} (require is the complete requirement: list every part)`
          : `expected require.${key} ${show(key, wanted)}, got ${got === undefined ? 'none' : show(key, got)}`,
      );
    }
  }
  if (expect.unmet) {
    const got = decision.unmet ?? [];
    if (got.length !== expect.unmet.length || !expect.unmet.every((part) => got.includes(part)))
      failures.push(`expected unmet [${expect.unmet.join(', ')}], got [${got.join(', ')}]`);
  }
  if (expect.rule !== undefined) {
    const named = [...decision.reasons, ...(decision.audit ?? [])].map(
      (reason) => `${reason.policy}/${reason.rule}`,
    );
    if (!named.includes(expect.rule))
      failures.push(
        `expected rule ${expect.rule} among the reasons, got ${named.length ? named.join(', ') : 'none'}`,
      );
  }
  const actual: CaseResult['actual'] = { effect: decision.effect, reasons: decision.reasons };
  if (decision.require) actual.require = decision.require;
  if (decision.unmet) actual.unmet = decision.unmet;
  if (decision.audit) actual.audit = decision.audit;
  if (decision.errors) actual.errors = decision.errors;
  return withLine(testCase, {
    name: testCase.name,
    passed: failures.length === 0,
    failures,
    expected: expect,
    actual,
    durationMs: 0,
  });
}

function withLine(testCase: TestCase, result: CaseResult): CaseResult {
  if (testCase.line !== undefined) result.line = testCase.line;
  return result;
}

function show(key: keyof Requirement, value: string | number): string {
  return key === 'maxAge' ? formatDuration(value as number) : String(value);
}

/** `effect step_up (level mfa, maxAge 5m; unmet level), rule kubectl/exec-in-prod` */
export function describeExpectation(expected: TestExpectation): string {
  let text = `effect ${expected.effect}`;
  const require = expected.require;
  const unmet = expected.unmet?.length ? `unmet ${expected.unmet.join(', ')}` : '';
  if (require) {
    const parts = REQUIREMENT_PARTS.filter((key) => require[key] !== undefined).map(
      (key) => `${key} ${show(key, require[key] as string | number)}`,
    );
    text += ` (${parts.join(', ')}${unmet ? `; ${unmet}` : ''})`;
  } else if (unmet) text += ` (${unmet})`;
  if (expected.rule !== undefined) text += `, rule ${expected.rule}`;
  return text;
}

/** `step_up (level mfa, maxAge 5m; unmet maxAge) by kubectl/exec-in-prod` */
export function describeDecision(
  decision: Pick<Decision, 'effect' | 'require' | 'unmet' | 'reasons' | 'errors'>,
): string {
  let text = decision.effect;
  const require = decision.require;
  if (require) {
    const parts = (['level', 'maxAge', 'approvals'] as const)
      .filter((key) => require[key] !== undefined)
      .map((key) => `${key} ${show(key, require[key] as string | number)}`);
    const unmet = decision.unmet?.length ? `; unmet ${decision.unmet.join(', ')}` : '';
    text += ` (${parts.join(', ')}${unmet})`;
  }
  if (decision.reasons.length > 0)
    text += ` by ${decision.reasons.map((r) => `${r.policy}/${r.rule}`).join(', ')}`;
  if (decision.errors?.length)
    text += `; errors: ${decision.errors.map((e) => `${e.policy}/${e.rule}: ${e.message}`).join('; ')}`;
  return text;
}
