import type { CaseResult, CompileError, TestReport } from '@stepgate/policy';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { attribute, formatJUnitCompileErrors, formatJUnitReport, text } from './junit-report.js';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => ['testsuite', 'testcase'].includes(name),
});

/** Characters XML 1.0 cannot carry at all (not even as references). */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/; // eslint-disable-line no-control-regex

interface Parsed {
  testsuites: {
    tests: string;
    failures: string;
    errors: string;
    testsuite: {
      name: string;
      tests: string;
      failures: string;
      errors: string;
      time: string;
      testcase: {
        classname: string;
        name: string;
        time: string;
        failure?: { message: string; type: string; '#text': string };
        error?: { message: string; type: string; '#text': string };
      }[];
    }[];
  };
}

function parse(xml: string): Parsed {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(xml).not.toMatch(NOT_XML);
  return parser.parse(xml) as Parsed;
}

const passing = (name: string): CaseResult => ({
  name,
  passed: true,
  failures: [],
  expected: { effect: 'allow' },
  actual: { effect: 'allow', reasons: [] },
  durationMs: 1.5,
});

const report: TestReport = {
  passed: 2,
  failed: 2,
  suites: [
    {
      file: 'kubernetes/kubectl.test.yaml',
      name: 'kubectl',
      passed: 1,
      failed: 1,
      durationMs: 3,
      cases: [
        passing('exec in dev is allowed'),
        {
          name: 'exec in prod needs <mfa> & "recent" auth',
          line: 12,
          passed: false,
          failures: ['expected effect step_up, got allow'],
          expected: { effect: 'step_up', require: { level: 'mfa', maxAge: 300 } },
          actual: { effect: 'allow', reasons: [{ policy: 'kubectl', rule: 'dev' }] },
          durationMs: 1.5,
        },
      ],
    },
    {
      file: 'api/admin.test.yaml',
      name: 'admin',
      passed: 1,
      failed: 1,
      durationMs: 2,
      cases: [
        passing('reads are fine'),
        {
          name: 'bell \u0007 in a name',
          passed: false,
          failures: ['the request could not be evaluated: boom'],
          error: 'the request could not be evaluated: boom',
          expected: { effect: 'deny' },
          actual: { effect: 'deny', reasons: [] },
          durationMs: 0,
        },
      ],
    },
  ],
};

describe('formatJUnitReport', () => {
  it('writes one testsuite per file with tests/failures/errors/time, and one testcase per case', () => {
    const parsed = parse(formatJUnitReport(report, 1234));
    expect(parsed.testsuites).toMatchObject({ tests: '4', failures: '1', errors: '1' });
    const suites = parsed.testsuites.testsuite;
    expect(suites.map((s) => [s.name, s.tests, s.failures, s.errors, s.time])).toEqual([
      ['kubernetes/kubectl.test.yaml', '2', '1', '0', '0.003'],
      ['api/admin.test.yaml', '2', '0', '1', '0.002'],
    ]);
    expect(suites[0]?.testcase.map((c) => [c.classname, c.name, c.time])).toEqual([
      ['kubernetes/kubectl.test.yaml', 'exec in dev is allowed', '0.002'],
      ['kubernetes/kubectl.test.yaml', 'exec in prod needs <mfa> & "recent" auth', '0.002'],
    ]);
  });

  it('explains a failed case with expected vs actual in a <failure>', () => {
    const failed = parse(formatJUnitReport(report, 0)).testsuites.testsuite[0]?.testcase[1];
    expect(failed?.failure?.message).toBe('expected effect step_up, got allow');
    expect(failed?.failure?.type).toBe('expectation');
    expect(failed?.failure?.['#text']).toContain('expected: effect step_up (level mfa, maxAge 5m)');
    expect(failed?.failure?.['#text']).toContain('actual:   allow by kubectl/dev');
    expect(failed?.failure?.['#text']).toContain('at kubernetes/kubectl.test.yaml:12');
    expect(failed?.error).toBeUndefined();
  });

  it('reports a case that could not run as an <error>, and writes control characters visibly', () => {
    const errored = parse(formatJUnitReport(report, 0)).testsuites.testsuite[1]?.testcase[1];
    expect(errored?.name).toBe('bell \\u0007 in a name');
    expect(errored?.error?.message).toBe('the request could not be evaluated: boom');
    expect(errored?.failure).toBeUndefined();
  });

  it('writes an empty <testsuites> for a repository without tests', () => {
    const parsed = parse(formatJUnitReport({ passed: 0, failed: 0, suites: [] }, 0));
    expect(parsed.testsuites.tests).toBe('0');
  });
});

describe('formatJUnitCompileErrors', () => {
  it('turns each compile error into an <error> testcase of its file', () => {
    const errors: CompileError[] = [
      { code: 'cel/type', file: 'a.yaml', line: 3, column: 9, message: 'no field "idzz"' },
      { code: 'schema/invalid', file: 'a.yaml', message: 'unknown field "rulez"' },
      { code: 'test/invalid', file: 'b.test.yaml', line: 1, message: 'bad' },
    ];
    const parsed = parse(formatJUnitCompileErrors(errors));
    expect(parsed.testsuites).toMatchObject({ tests: '3', failures: '0', errors: '3' });
    const suites = parsed.testsuites.testsuite;
    expect(suites.map((s) => [s.name, s.errors])).toEqual([
      ['a.yaml', '2'],
      ['b.test.yaml', '1'],
    ]);
    const first = suites[0]?.testcase[0];
    expect(first?.name).toBe('compiles (a.yaml:3:9)');
    expect(first?.error).toMatchObject({ type: 'cel/type', message: 'no field "idzz"' });
    expect(first?.error?.['#text']).toBe('a.yaml:3:9 no field "idzz"');
  });
});

describe('XML escaping', () => {
  it('escapes markup in text and attributes', () => {
    expect(text(`a<b>&c"'`)).toBe(`a&lt;b&gt;&amp;c"'`);
    expect(attribute(`a<b>&c"'`)).toBe('a&lt;b&gt;&amp;c&quot;&apos;');
  });

  it('keeps line breaks and tabs in attributes as references', () => {
    expect(attribute('a\nb\tc\rd')).toBe('a&#10;b&#9;c&#13;d');
  });

  it('replaces characters XML 1.0 forbids, keeps paired surrogates, flags lone ones', () => {
    expect(text('\u0000\u001b\uffff')).toBe('\\u0000\\u001b\\uffff');
    expect(text('emoji 😀 ok')).toBe('emoji 😀 ok');
    expect(text('lone \ud800 x')).toBe('lone \\ud800 x');
  });
});
