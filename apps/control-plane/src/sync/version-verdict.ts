import {
  compile,
  PolicyEngine,
  runTestSuites,
  type CompileError,
  type CompiledPolicySet,
  type SourceFile,
  type TestReport,
} from '@stepgate/policy';
import { canonicalJson } from '@stepgate/protocol';

/**
 * The verdict on one commit: compile, run its policy tests, measure the bundle. Pure CPU work on
 * text, run in a worker thread (build-version.worker.ts) so a costly commit never stalls the
 * control plane's event loop; it imports only the pure packages.
 */
export interface VersionVerdict {
  status: 'ready' | 'failed';
  errors: CompileError[];
  testReport: { passed: number; failed: number; failures: FailedCase[] } | null;
  policySet: CompiledPolicySet | null;
  /** Canonical JSON of the policy set (hashed by the caller); null when it did not compile. */
  serialized: string | null;
  size: number | null;
}

export interface FailedCase {
  file: string;
  suite: string;
  name: string;
  line?: number;
  failures: string[];
}

/** Nothing that fails compilation, a policy test or the size budget may ever become active. */
export function judgeVersion(files: SourceFile[], maxBundleBytes: number): VersionVerdict {
  const result = compile(files);
  if (!result.ok)
    return {
      status: 'failed',
      errors: result.errors,
      testReport: null,
      policySet: null,
      serialized: null,
      size: null,
    };

  const report = runTestSuites(new PolicyEngine(result.policySet), result.testSuites);
  const testReport = {
    passed: report.passed,
    failed: report.failed,
    failures: failedCases(report),
  };
  const serialized = canonicalJson(result.policySet);
  const size = Buffer.byteLength(serialized, 'utf8');
  const errors: CompileError[] = [];
  if (size > maxBundleBytes) {
    errors.push({
      code: 'data/invalid',
      file: '(bundle)',
      message: `the compiled bundle is ${size} bytes; the budget is ${maxBundleBytes} (STEPGATE_MAX_BUNDLE_BYTES)`,
    });
  }
  const status = report.failed === 0 && errors.length === 0 ? 'ready' : 'failed';
  return {
    status,
    errors,
    testReport,
    policySet: status === 'ready' ? result.policySet : null,
    serialized,
    size,
  };
}

function failedCases(report: TestReport): FailedCase[] {
  return report.suites.flatMap((suite) =>
    suite.cases
      .filter((c) => !c.passed)
      .map((c) => ({
        file: suite.file,
        suite: suite.name,
        name: c.name,
        ...(c.line !== undefined ? { line: c.line } : {}),
        failures: c.failures,
      })),
  );
}
