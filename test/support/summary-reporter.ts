import type { Reporter, TestModule, Vitest } from 'vitest/node';

type UnhandledErrors = Parameters<NonNullable<Reporter['onTestRunEnd']>>[1];

/**
 * Prints, after the default reporter's output, one machine-readable line alone on its line:
 *
 *   N passed, N failed[, N skipped]
 *
 * Counts individual tests (skipped includes todo and tests left pending by an interrupted run).
 * So that a broken run can never read as green, a test file that failed without any failing test
 * (e.g. it could not be imported, or a beforeAll/afterAll hook threw) counts as one failure, and so
 * does each unhandled error.
 */
export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined;
  private line: string | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: UnhandledErrors): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;

    for (const testModule of testModules) {
      let failedInModule = 0;
      for (const testCase of testModule.children.allTests()) {
        const { state } = testCase.result();
        if (state === 'passed') passed++;
        else if (state === 'failed') failedInModule++;
        else skipped++;
      }
      if (failedInModule === 0 && testModule.state() === 'failed') failedInModule = 1;
      failed += failedInModule;
    }
    failed += unhandledErrors.length;

    this.line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  }

  // Vitest calls every reporter's onTestRunEnd, then every reporter's onFinished; the default
  // reporter prints its summary from onFinished, so printing here puts our line after it.
  onFinished(): void {
    if (this.line === undefined) return;
    const line = this.line;
    this.line = undefined;
    if (this.vitest) this.vitest.logger.log(`\n${line}`);
    else process.stdout.write(`\n${line}\n`);
  }
}
