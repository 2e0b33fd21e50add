import type { CompileError } from '../errors.js';
import type {
  AuthEvidence,
  CompiledPolicySet,
  DecisionRequest,
  Effect,
  Requirement,
  RequirementPart,
} from '../model.js';
import { compileRequirement } from '../compile/compile-policy.js';
import { validateAgainst, type LiveData } from '../evaluate/live-data.js';
import { validate } from '../compile/validate.js';
import { testSuiteDocumentSchema } from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';

export interface TestExpectation {
  effect: Effect;
  /** The complete requirement of a step-up: every part, compared exactly. */
  require?: Requirement;
  /** The unmet parts of a step-up's requirement, compared as a set. */
  unmet?: RequirementPart[];
  rule?: string;
}

export interface TestCase {
  name: string;
  /** 1-based line of the case in its file, for reports. */
  line?: number;
  now: Date;
  request: DecisionRequest;
  /** In a test, `auth` is given directly: it stands for what an agent would have verified. */
  evidence?: AuthEvidence;
  /** The case's `input.data`: live data documents over their defaults. */
  live?: LiveData;
  /** The case's `input.signals`: the principal's risk signals. */
  signals?: Record<string, unknown>;
  expect: TestExpectation;
}

export interface TestSuite {
  file: string;
  name: string;
  cases: TestCase[];
}

export function isTestFile(path: string): boolean {
  return /\.test\.ya?ml$/.test(path);
}

function parseTime(value: string | Date): Date | undefined {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Compiles a test suite document against a compiled policy set: levels and rule names it
 * names must exist, so a typo in a test is a compile error rather than a confusing failure.
 */
export function compileTestSuite(
  source: YamlDocument,
  policySet: CompiledPolicySet,
  errors: CompileError[],
  clock: () => Date,
): TestSuite | undefined {
  const doc = validate(source, testSuiteDocumentSchema, errors);
  if (!doc) return undefined;
  const before = errors.length;
  const report = (
    message: string,
    path: (string | number)[],
    code: CompileError['code'] = 'test/invalid',
  ) => errors.push(source.error(code, message, path));

  const suiteNow = doc.now === undefined ? undefined : parseTime(doc.now);
  if (doc.now !== undefined && !suiteNow)
    report(`now "${String(doc.now)}" is not a timestamp (write e.g. "2026-11-23T10:00:00Z")`, [
      'now',
    ]);
  const rules = new Set(
    policySet.policies.flatMap((policy) =>
      policy.rules.map((rule) => `${policy.name}/${rule.name}`),
    ),
  );
  const levels = new Set(policySet.settings.levels.map((level) => level.name));

  const cases = doc.cases.map((item, index): TestCase => {
    const path = ['cases', index];
    const caseNow = item.now === undefined ? suiteNow : parseTime(item.now);
    if (item.now !== undefined && !caseNow)
      report(`now "${String(item.now)}" is not a timestamp`, [...path, 'now']);
    const auth = item.input.auth;
    if (auth?.level !== undefined && !levels.has(auth.level)) {
      report(
        `input.auth.level "${auth.level}" is not a level in stepgate.yaml (${[...levels].join(', ') || 'none declared'})`,
        [...path, 'input', 'auth', 'level'],
        'level/unknown',
      );
    }
    if (auth?.authTime !== undefined && !parseTime(auth.authTime)) {
      report(`input.auth.authTime "${String(auth.authTime)}" is not a timestamp`, [
        ...path,
        'input',
        'auth',
        'authTime',
      ]);
    }
    if (item.expect.rule !== undefined && !rules.has(item.expect.rule)) {
      report(
        `expect.rule "${item.expect.rule}" names no rule; write <policy>/<rule>, e.g. ${[...rules][0] ?? 'my-policy/my-rule'}`,
        [...path, 'expect', 'rule'],
        'test/unknown_rule',
      );
    }
    const expect: TestExpectation = { effect: item.expect.effect };
    if (item.expect.require) {
      const require = compileRequirement(
        item.expect.require,
        policySet.settings,
        (code, message, sub) =>
          errors.push(source.error(code, message, [...path, 'expect', 'require', ...sub])),
      );
      if (require) expect.require = require;
    }
    if (item.expect.unmet !== undefined) {
      if (item.expect.effect !== 'step_up')
        report(
          `expect.unmet only applies to effect step_up, not ${item.expect.effect}; remove it`,
          [...path, 'expect', 'unmet'],
        );
      else expect.unmet = [...new Set(item.expect.unmet)];
    }
    if (item.expect.rule !== undefined) expect.rule = item.expect.rule;

    const { auth: _auth, signals, data, ...request } = item.input;
    const testCase: TestCase = { name: item.name, now: caseNow ?? clock(), request, expect };
    if (signals) {
      checkSignals(signals, policySet, (message, name) =>
        report(message, [...path, 'input', 'signals', name]),
      );
      testCase.signals = signals;
    }
    if (data) {
      checkLiveData(data, policySet, (message, name) =>
        report(message, [...path, 'input', 'data', name]),
      );
      testCase.live = { revision: 0, documents: data };
    }
    const line = source.positionOf(path)?.line;
    if (line !== undefined) testCase.line = line;
    if (auth) {
      const evidence: AuthEvidence = { ...auth };
      if (auth.authTime !== undefined)
        evidence.authTime = parseTime(auth.authTime) ?? auth.authTime;
      testCase.evidence = evidence;
    }
    return testCase;
  });
  return errors.length === before ? { file: source.file, name: doc.name, cases } : undefined;
}

/** Reports every `input.signals` entry that names no declared signal or has the wrong type. */
function checkSignals(
  signals: Record<string, unknown>,
  policySet: CompiledPolicySet,
  report: (message: string, name: string) => void,
): void {
  const declared = policySet.settings.signals ?? {};
  for (const [name, value] of Object.entries(signals)) {
    const signal = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!signal) {
      report(
        `input.signals.${name} is not a signal declared in stepgate.yaml (declared: ${Object.keys(declared).join(', ') || 'none'})`,
        name,
      );
      continue;
    }
    const counted = signal.aggregate === 'count' || signal.aggregate === 'distinct';
    if (counted && !(Number.isSafeInteger(value) && (value as number) >= 0))
      report(
        `input.signals.${name} is a ${signal.aggregate}: write a whole number from 0, got ${JSON.stringify(value)}`,
        name,
      );
    else if (signal.aggregate === 'exists' && typeof value !== 'boolean')
      report(
        `input.signals.${name} is an exists signal: write true or false, got ${JSON.stringify(value)}`,
        name,
      );
  }
}

/**
 * Reports every `input.data` entry that is not a declared live data document or does not
 * match its schema. Git data is the repository's own: a test changes it by changing the file.
 */
function checkLiveData(
  data: Record<string, unknown>,
  policySet: CompiledPolicySet,
  report: (message: string, name: string) => void,
): void {
  const declared = policySet.settings.liveData ?? {};
  for (const [name, value] of Object.entries(data)) {
    const live = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!live) {
      report(
        Object.hasOwn(policySet.data, name)
          ? `input.data.${name} is Git data (data/${name}.yaml or the folder data/${name}/), which a test cannot override; only live data documents (stepgate.yaml liveData) can be set per case`
          : `input.data.${name} is not a live data document declared in stepgate.yaml (declared: ${Object.keys(declared).join(', ') || 'none'})`,
        name,
      );
      continue;
    }
    const problems = validateAgainst(live.schema, value);
    if (problems.length > 0)
      report(`input.data.${name} does not match its schema: ${problems.join('; ')}`, name);
  }
}
