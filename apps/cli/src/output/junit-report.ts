import {
  describeDecision,
  describeExpectation,
  formatCompileError,
  type CaseResult,
  type CompileError,
  type TestReport,
} from '@stepgate/policy';

/**
 * JUnit XML, the report format CI systems read (Jenkins' junit step, GitLab's
 * `artifacts:reports:junit`, GitHub test-report actions): one <testsuite> per test file, one
 * <testcase> per case, a <failure> for a wrong expectation and an <error> for a case that
 * could not run.
 */
export function formatJUnitReport(report: TestReport, elapsedMs: number): string {
  const errors = report.suites.reduce(
    (sum, suite) => sum + suite.cases.filter((c) => c.error !== undefined).length,
    0,
  );
  const lines = [
    XML_DECLARATION,
    `<testsuites ${attributes({
      name: 'stepgate test',
      tests: report.passed + report.failed,
      failures: report.failed - errors,
      errors,
      time: seconds(elapsedMs),
    })}>`,
  ];
  for (const suite of report.suites) {
    const suiteErrors = suite.cases.filter((c) => c.error !== undefined).length;
    lines.push(
      `  <testsuite ${attributes({
        name: suite.file,
        tests: suite.cases.length,
        failures: suite.failed - suiteErrors,
        errors: suiteErrors,
        time: seconds(suite.durationMs),
      })}>`,
    );
    for (const result of suite.cases) lines.push(...testCase(suite.file, result));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n');
}

/**
 * The report when the repository does not compile (or cannot be read): no case could run, so
 * each error is an <error> test case of the file at fault, which CI shows next to the tests.
 */
export function formatJUnitCompileErrors(errors: readonly CompileError[]): string {
  const byFile = new Map<string, CompileError[]>();
  for (const error of errors) {
    const list = byFile.get(error.file) ?? [];
    list.push(error);
    byFile.set(error.file, list);
  }
  const lines = [
    XML_DECLARATION,
    `<testsuites ${attributes({ name: 'stepgate test', tests: errors.length, failures: 0, errors: errors.length, time: 0 })}>`,
  ];
  for (const [file, list] of byFile) {
    lines.push(
      `  <testsuite ${attributes({ name: file, tests: list.length, failures: 0, errors: list.length, time: 0 })}>`,
    );
    for (const error of list) {
      const where =
        error.line === undefined
          ? ''
          : `:${error.line}${error.column === undefined ? '' : `:${error.column}`}`;
      lines.push(
        `    <testcase ${attributes({ classname: file, name: `compiles (${file}${where})`, file, time: 0 })}>`,
        `      <error ${attributes({ message: error.message, type: error.code })}>${text(formatCompileError(error))}</error>`,
        '    </testcase>',
      );
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n');
}

function testCase(file: string, result: CaseResult): string[] {
  const open = `    <testcase ${attributes({ classname: file, name: result.name, file, line: result.line, time: seconds(result.durationMs) })}`;
  if (result.passed) return [`${open}/>`];
  const details = [
    ...result.failures,
    '',
    `expected: ${describeExpectation(result.expected)}`,
    `actual:   ${describeDecision(result.actual)}`,
    ...(result.line === undefined ? [] : [`at ${file}:${result.line}`]),
  ].join('\n');
  const element = result.error === undefined ? 'failure' : 'error';
  const type = result.error === undefined ? 'expectation' : 'evaluation';
  const message = result.error ?? result.failures.join('; ');
  return [
    `${open}>`,
    `      <${element} ${attributes({ message, type })}>${text(details)}</${element}>`,
    '    </testcase>',
  ];
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => `${name}="${attribute(String(value))}"`)
    .join(' ');
}

/**
 * XML 1.0 cannot carry most C0 control characters, U+FFFE/U+FFFF or unpaired surrogates,
 * even as character references; they are written as visible `\uXXXX` text instead, so a
 * case name or CEL message holding one still yields a document every parser accepts.
 */
const NOT_XML_1_0 =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function printable(value: string): string {
  return value.replace(
    NOT_XML_1_0,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Escaped character data for an element's content (a carriage return as a reference, or parsers fold it). */
export function text(value: string): string {
  return printable(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

/** Escaped attribute value; line breaks and tabs as references, or parsers fold them to spaces. */
export function attribute(value: string): string {
  return text(value)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}
