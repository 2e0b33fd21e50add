import {
  describeDecision,
  formatCompileError,
  type CompileError,
  type TestReport,
} from '@stepgate/policy';
import type { Style } from './style.js';

/** The human report of `stepgate test`: one block per file, failures explained in place. */
export function formatTestReport(report: TestReport, style: Style, elapsedMs: number): string {
  const lines: string[] = [];
  for (const suite of report.suites) {
    const mark = suite.failed === 0 ? style.green('PASS') : style.red('FAIL');
    lines.push(
      `${mark} ${suite.file} ${style.dim(`(${suite.name}: ${suite.passed}/${suite.cases.length})`)}`,
    );
    for (const result of suite.cases) {
      if (result.passed) {
        lines.push(`  ${style.green('✓')} ${result.name}`);
        continue;
      }
      lines.push(
        `  ${style.red('✗')} ${result.name}${result.line !== undefined ? style.dim(`  (${suite.file}:${result.line})`) : ''}`,
      );
      for (const failure of result.failures) lines.push(`      ${style.red(failure)}`);
      lines.push(`      ${style.dim(`decision: ${describeDecision(result.actual)}`)}`);
    }
  }
  const files = report.suites.length;
  const summary = `${report.passed} passed, ${report.failed} failed`;
  lines.push('');
  lines.push(
    `${report.failed === 0 ? style.green(summary) : style.red(summary)} ${style.dim(`(${files} test file${files === 1 ? '' : 's'}, ${Math.round(elapsedMs)} ms)`)}`,
  );
  return lines.join('\n');
}

export function formatCompileErrors(errors: readonly CompileError[], style: Style): string {
  const lines = errors.map(
    (error) =>
      `  ${style.red('error')} ${formatCompileError(error)} ${style.dim(`[${error.code}]`)}`,
  );
  lines.unshift(
    style.red(
      `The policies do not compile (${errors.length} error${errors.length === 1 ? '' : 's'}):`,
    ),
  );
  return lines.join('\n');
}
