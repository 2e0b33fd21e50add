import {
  compile,
  PolicyEngine,
  runTestSuites,
  type CompileError,
  type CompiledPolicySet,
  type SourceFile,
  type TestReport,
} from '@stepgate/policy';
import { canonicalJson, sha256Hex } from '@stepgate/protocol';

export interface BuiltVersion {
  status: 'ready' | 'failed';
  errors: CompileError[];
  testReport: { passed: number; failed: number; failures: FailedCase[] } | null;
  policySet: CompiledPolicySet | null;
  bundleHash: string | null;
  size: number | null;
}

export interface FailedCase {
  file: string;
  suite: string;
  name: string;
  line?: number;
  failures: string[];
}

/**
 * Compile, test, measure: the verdict on one commit. Nothing that fails compilation, a
 * policy test or the size budget may ever become active.
 */
export async function buildVersion(
  files: SourceFile[],
  maxBundleBytes: number,
): Promise<BuiltVersion> {
  const result = compile(files);
  if (!result.ok)
    return {
      status: 'failed',
      errors: result.errors,
      testReport: null,
      policySet: null,
      bundleHash: null,
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
    bundleHash: await sha256Hex(serialized),
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
