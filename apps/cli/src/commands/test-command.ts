import { compile, PolicyEngine, runTestSuites } from '@stepgate/policy';
import { createProgress } from '../output/progress.js';
import { createStyle } from '../output/style.js';
import { formatCompileErrors, formatTestReport } from '../output/test-report.js';
import { PolicyDirError, readPolicyDir } from '../policy-files/read-policy-dir.js';

export const EXIT_OK = 0;
export const EXIT_TEST_FAILED = 1;
export const EXIT_COMPILE_FAILED = 2;

export interface TestCommandOptions {
  json?: boolean;
}

/** `stepgate test [dir]`: compile the repository, run every test, report, return the exit code. */
export async function testCommand(dir: string, options: TestCommandOptions): Promise<number> {
  const started = performance.now();
  const style = createStyle(
    !options.json && process.stdout.isTTY === true && !process.env.NO_COLOR,
  );
  let files;
  try {
    files = await readPolicyDir(dir);
  } catch (error) {
    if (!(error instanceof PolicyDirError)) throw error;
    return fail(options, error.message, style.red.bind(style));
  }

  const result = compile(files);
  if (!result.ok) {
    if (options.json) print({ ok: false, dir, errors: result.errors });
    else process.stderr.write(`${formatCompileErrors(result.errors, style)}\n`);
    return EXIT_COMPILE_FAILED;
  }

  const engine = new PolicyEngine(result.policySet);
  const progress = createProgress(process.stderr, 'running test cases');
  const report = runTestSuites(engine, result.testSuites, (done, total) =>
    progress.update(done, total),
  );
  progress.clear();
  const elapsedMs = performance.now() - started;
  if (options.json) {
    print({
      ok: report.failed === 0,
      dir,
      passed: report.passed,
      failed: report.failed,
      durationMs: Math.round(elapsedMs),
      policies: result.policySet.policies.length,
      suites: report.suites,
    });
  } else {
    if (report.suites.length === 0)
      process.stdout.write(style.yellow(`No test files (*.test.yaml) found in ${dir}.\n`));
    process.stdout.write(`${formatTestReport(report, style, elapsedMs)}\n`);
  }
  return report.failed === 0 ? EXIT_OK : EXIT_TEST_FAILED;
}

function fail(options: TestCommandOptions, message: string, red: (text: string) => string): number {
  if (options.json) print({ ok: false, errors: [{ code: 'input/invalid', message }] });
  else process.stderr.write(`${red('error')} ${message}\n`);
  return EXIT_COMPILE_FAILED;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
