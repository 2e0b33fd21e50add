import { writeFile } from 'node:fs/promises';
import { compile, PolicyEngine, runTestSuites, type CompileError } from '@stepgate/policy';
import { formatJUnitCompileErrors, formatJUnitReport } from '../output/junit-report.js';
import { createProgress } from '../output/progress.js';
import { colourEnabled } from '../output/colour.js';
import { createStyle } from '../output/style.js';
import { formatCompileErrors, formatTestReport } from '../output/test-report.js';
import { PolicyDirError, readPolicyDir } from '../policy-files/read-policy-dir.js';

export const EXIT_OK = 0;
export const EXIT_TEST_FAILED = 1;
export const EXIT_COMPILE_FAILED = 2;

export const TEST_REPORT_FORMATS = ['text', 'json', 'junit'] as const;
export type TestReportFormat = (typeof TEST_REPORT_FORMATS)[number];

export interface TestCommandOptions {
  /** Shorthand for `format: 'json'`, kept from before `--format`. */
  json?: boolean;
  format?: TestReportFormat;
  /**
   * Write the report to this file instead of stdout; stdout then shows the human report, so a
   * CI log stays readable while the CI system reads the file.
   */
  output?: string;
}

/** `stepgate test [dir]`: compile the repository, run every test, report, return the exit code. */
export async function testCommand(dir: string, options: TestCommandOptions): Promise<number> {
  const format: TestReportFormat = options.json ? 'json' : (options.format ?? 'text');
  const human = format === 'text' || options.output !== undefined;
  const started = performance.now();
  const style = createStyle(human && colourEnabled(process.env, process.stdout.isTTY === true));
  /** Delivers the machine report (to the --output file or stdout); false when it could not. */
  const deliver = async (report: string): Promise<boolean> => {
    if (options.output === undefined) {
      process.stdout.write(`${report}\n`);
      return true;
    }
    try {
      await writeFile(options.output, `${report}\n`);
      return true;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      process.stderr.write(
        `${style.red('error')} cannot write the report to ${options.output} (${reason}); check that its folder exists and is writable\n`,
      );
      return false;
    }
  };
  const failWith = async (errors: readonly CompileError[], json: unknown): Promise<number> => {
    if (human) process.stderr.write(`${formatCompileErrors(errors, style)}\n`);
    if (format === 'json') await deliver(JSON.stringify(json, null, 2));
    else if (format === 'junit') await deliver(formatJUnitCompileErrors(errors));
    else if (options.output !== undefined) await deliver(formatCompileErrors(errors, style));
    return EXIT_COMPILE_FAILED;
  };

  let files;
  try {
    files = await readPolicyDir(dir);
  } catch (error) {
    if (!(error instanceof PolicyDirError)) throw error;
    if (human) process.stderr.write(`${style.red('error')} ${error.message}\n`);
    const unreadable: CompileError = { code: 'schema/invalid', file: dir, message: error.message };
    if (format === 'json')
      await deliver(
        JSON.stringify(
          { ok: false, errors: [{ code: 'input/invalid', message: error.message }] },
          null,
          2,
        ),
      );
    else if (format === 'junit') await deliver(formatJUnitCompileErrors([unreadable]));
    return EXIT_COMPILE_FAILED;
  }

  const result = compile(files);
  if (!result.ok) return failWith(result.errors, { ok: false, dir, errors: result.errors });

  const engine = new PolicyEngine(result.policySet);
  const progress = createProgress(process.stderr, 'running test cases');
  const report = runTestSuites(engine, result.testSuites, (done, total) =>
    progress.update(done, total),
  );
  progress.clear();
  const elapsedMs = performance.now() - started;
  const exitCode = report.failed === 0 ? EXIT_OK : EXIT_TEST_FAILED;
  if (human) {
    if (report.suites.length === 0)
      process.stdout.write(style.yellow(`No test files (*.test.yaml) found in ${dir}.\n`));
    process.stdout.write(`${formatTestReport(report, style, elapsedMs)}\n`);
  }
  let delivered = true;
  if (format === 'json')
    delivered = await deliver(
      JSON.stringify(
        {
          ok: report.failed === 0,
          dir,
          passed: report.passed,
          failed: report.failed,
          durationMs: Math.round(elapsedMs),
          policies: result.policySet.policies.length,
          suites: report.suites,
        },
        null,
        2,
      ),
    );
  else if (format === 'junit') delivered = await deliver(formatJUnitReport(report, elapsedMs));
  else if (options.output !== undefined)
    delivered = await deliver(formatTestReport(report, createStyle(false), elapsedMs));
  return delivered ? exitCode : EXIT_COMPILE_FAILED;
}
