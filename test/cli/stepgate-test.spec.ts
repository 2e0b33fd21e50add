/**
 * End-to-end tests of `stepgate test`: the real CLI process (apps/cli/bin/stepgate.js, which
 * loads the built apps/cli/dist) against copies of the example policy repository.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(repoRoot, 'apps/cli/bin/stepgate.js');
const policiesDir = join(repoRoot, 'policies');
const tscBin = join(repoRoot, 'node_modules/typescript/bin/tsc');
const distMain = join(repoRoot, 'apps/cli/dist/main.js');

/** A line of a Node stack trace (`    at fn (file:1:2)`). */
const STACK_FRAME = /^\s+at .+/m;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function stepgate(args: string[]): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

const describeRun = (run: Run): string =>
  `exit ${run.status} (signal ${run.signal})\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

const tempDirs: string[] = [];

/** A fresh copy of policies/ in its own temp dir, removed after the file's tests. */
function copyPolicies(): string {
  const root = mkdtempSync(join(tmpdir(), 'stepgate-cli-'));
  tempDirs.push(root);
  const dir = join(root, 'policies');
  cpSync(policiesDir, dir, { recursive: true });
  return dir;
}

/** Repository-relative paths (with /) of every file below `dir`, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const isTestFile = (path: string): boolean => /\.test\.ya?ml$/.test(path);
const isPolicyFile = (path: string): boolean =>
  /\.ya?ml$/.test(path) &&
  !isTestFile(path) &&
  !path.startsWith('data/') &&
  path !== 'stepgate.yaml';

/** The last `- name: ...` list item before `index`: the case or rule the text belongs to. */
function itemNameBefore(text: string, index: number): string {
  const names = [...text.slice(0, index).matchAll(/^\s*- name:\s*(.+?)\s*$/gm)];
  const last = names[names.length - 1]?.[1];
  if (last === undefined) throw new Error('no "- name:" before the given position');
  return last.replace(/^(['"])(.*)\1$/, '$2');
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length;

const lastNonEmptyLine = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .pop() ?? '';

interface JsonReport {
  ok: boolean;
  passed?: number;
  failed?: number;
  suites?: {
    file: string;
    name: string;
    passed: number;
    failed: number;
    cases: { name: string; passed: boolean }[];
  }[];
  errors?: {
    code: string;
    message: string;
    file?: string;
    line?: number;
    column?: number;
    policy?: string;
    rule?: string;
  }[];
}

function parseJson(run: Run): JsonReport {
  try {
    return JSON.parse(run.stdout) as JsonReport;
  } catch (error) {
    throw new Error(`stdout is not JSON (${(error as Error).message})\n${describeRun(run)}`);
  }
}

interface JUnitCase {
  classname: string;
  name: string;
  failure?: { message: string; '#text': string };
  error?: { message: string; type: string };
}
interface JUnitSuite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  testcase?: JUnitCase[];
}

/** The JUnit XML a CI system would read, parsed; fails the test when it is not well-formed. */
function parseJUnit(xml: string): { tests: string; failures: string; testsuite: JUnitSuite[] } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid)}\n${xml}`);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  }).parse(xml) as { testsuites: { tests: string; failures: string; testsuite?: JUnitSuite[] } };
  return { ...parsed.testsuites, testsuite: parsed.testsuites.testsuite ?? [] };
}

/**
 * Breaks one single-quoted `when:` expression of the first policy that has one by misspelling
 * a field access (`resource.id` -> `resource.idzz`). Returns where the mistake is.
 */
function misspellOneCondition(dir: string): {
  file: string;
  policy: string;
  rule: string;
  line: number;
  fieldStartColumn: number;
  fieldEndColumn: number;
} {
  for (const file of listFiles(dir).filter(isPolicyFile)) {
    const full = join(dir, file);
    const text = readFileSync(full, 'utf8');
    const when = /^[ \t]*when: '([^'\n]*)'[ \t]*$/gm;
    for (const match of text.matchAll(when)) {
      const field = /\b(resource|principal)\.(id|kind|roles|groups)\b/.exec(match[1] as string);
      if (!field) continue;
      const exprStart = (match.index as number) + match[0].indexOf("'") + 1;
      const fieldStart = exprStart + field.index;
      const fieldEnd = fieldStart + field[0].length;
      writeFileSync(full, `${text.slice(0, fieldEnd)}zz${text.slice(fieldEnd)}`);
      const lineStart = text.lastIndexOf('\n', fieldStart) + 1;
      const policy = /^name:\s*(\S+)\s*$/m.exec(text)?.[1];
      if (!policy) throw new Error(`${file} has no top-level name`);
      return {
        file,
        policy,
        rule: itemNameBefore(text, match.index as number),
        line: lineOf(text, fieldStart),
        fieldStartColumn: fieldStart - lineStart + 1,
        fieldEndColumn: fieldEnd + 2 - lineStart + 1,
      };
    }
  }
  throw new Error('no policy has a single-quoted when: with a resource/principal field access');
}

beforeAll(() => {
  // Build once so the CLI under test is the current source, not a stale dist.
  const build = spawnSync(process.execPath, [tscBin, '-b', 'tsconfig.build.json'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (build.status !== 0) {
    const output = `${build.stdout}${build.stderr}${build.error ? String(build.error) : ''}`;
    if (!existsSync(distMain)) throw new Error(`tsc -b tsconfig.build.json failed:\n${output}`);
    console.warn(`tsc -b failed; testing the existing apps/cli/dist:\n${output}`);
  }
}, 180_000);

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('stepgate test on the example repository', () => {
  it('exits 0 and ends with "N passed, 0 failed" for at least 40 cases', () => {
    const run = stepgate(['test', 'policies']);
    expect(run.status, describeRun(run)).toBe(0);
    const summary = /^(\d+) passed, (\d+) failed\b/.exec(lastNonEmptyLine(run.stdout));
    expect(summary, `last line of stdout:\n${describeRun(run)}`).not.toBeNull();
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(40);
    expect(Number(summary?.[2])).toBe(0);
    expect(run.stdout).not.toMatch(/\bFAIL\b/);
    // Every test file of the repository is reported as a passing suite.
    for (const file of listFiles(policiesDir).filter(isTestFile)) {
      expect(run.stdout, `suite ${file}`).toContain(`PASS ${file} `);
    }
  });

  it('--json prints a parseable report: ok, passed >= 40, failed 0, suites[]', () => {
    const run = stepgate(['test', 'policies', '--json']);
    expect(run.status, describeRun(run)).toBe(0);
    const report = parseJson(run);
    expect(report.ok).toBe(true);
    expect(report.passed).toBeGreaterThanOrEqual(40);
    expect(report.failed).toBe(0);
    expect(Array.isArray(report.suites)).toBe(true);
    const suites = report.suites ?? [];
    expect(suites.map((suite) => suite.file).sort()).toEqual(
      listFiles(policiesDir).filter(isTestFile),
    );
    const cases = suites.flatMap((suite) => suite.cases);
    expect(cases).toHaveLength(report.passed as number);
    expect(cases.every((c) => c.passed === true)).toBe(true);
  });

  it('--format junit prints JUnit XML: one testsuite per test file, every case, no failure', () => {
    const run = stepgate(['test', 'policies', '--format', 'junit']);
    expect(run.status, describeRun(run)).toBe(0);
    const report = parseJUnit(run.stdout);
    expect(report.testsuite.map((suite) => suite.name).sort()).toEqual(
      listFiles(policiesDir).filter(isTestFile),
    );
    const cases = report.testsuite.flatMap((suite) => suite.testcase ?? []);
    expect(Number(report.tests)).toBeGreaterThanOrEqual(40);
    expect(cases).toHaveLength(Number(report.tests));
    expect(report.failures).toBe('0');
    expect(cases.filter((c) => c.failure ?? c.error)).toEqual([]);
  });
});

describe('stepgate test on a repository with one wrong expectation', () => {
  let dir: string;
  let testFile: string;
  let caseName: string;

  beforeAll(() => {
    dir = copyPolicies();
    for (const file of listFiles(dir).filter(isTestFile)) {
      const full = join(dir, file);
      const text = readFileSync(full, 'utf8');
      const match = /\beffect: allow\b/.exec(text);
      if (!match) continue;
      writeFileSync(
        full,
        `${text.slice(0, match.index)}effect: deny${text.slice(match.index + match[0].length)}`,
      );
      testFile = file;
      caseName = itemNameBefore(text, match.index);
      return;
    }
    throw new Error('no test file expects "effect: allow"');
  });

  it('exits 1, marks that file FAIL and names the failing case', () => {
    const run = stepgate(['test', dir]);
    expect(run.status, describeRun(run)).toBe(1);
    expect(run.stdout).toContain(`FAIL ${testFile} `);
    expect(run.stdout.match(/^FAIL /gm), 'exactly one failing file').toHaveLength(1);
    const failedLine = run.stdout.split('\n').find((line) => line.includes(`✗ ${caseName}`));
    expect(failedLine, `a ✗ line for "${caseName}"\n${describeRun(run)}`).toBeDefined();
    expect(run.stdout).toContain('expected effect deny, got allow');
    expect(lastNonEmptyLine(run.stdout)).toMatch(/^\d+ passed, 1 failed\b/);
  });

  it('--json reports ok: false, failed 1 and the failing case', () => {
    const run = stepgate(['test', dir, '--json']);
    expect(run.status, describeRun(run)).toBe(1);
    const report = parseJson(run);
    expect(report.ok).toBe(false);
    expect(report.failed).toBe(1);
    const failing = (report.suites ?? []).flatMap((suite) =>
      suite.cases.filter((c) => !c.passed).map((c) => ({ file: suite.file, name: c.name })),
    );
    expect(failing).toEqual([{ file: testFile, name: caseName }]);
  });

  it('--format junit --output writes a <failure> with expected vs actual, the text goes to stdout', () => {
    const file = join(dir, '..', 'junit.xml');
    const run = stepgate(['test', dir, '--format', 'junit', '--output', file]);
    expect(run.status, describeRun(run)).toBe(1);
    expect(run.stdout).toContain(`FAIL ${testFile} `);
    const report = parseJUnit(readFileSync(file, 'utf8'));
    expect(report.failures).toBe('1');
    const suite = report.testsuite.find((s) => s.name === testFile);
    expect(suite).toMatchObject({ failures: '1', errors: '0' });
    const failed = (suite?.testcase ?? []).filter((c) => c.failure !== undefined);
    expect(failed.map((c) => [c.classname, c.name])).toEqual([[testFile, caseName]]);
    expect(failed[0]?.failure?.message).toMatch(/^expected effect deny, got allow\b/);
    expect(failed[0]?.failure?.['#text']).toMatch(/expected: effect deny[\s\S]*actual: +allow/);
  });
});

describe('stepgate test on a repository whose policies do not compile', () => {
  let dir: string;
  let broken: ReturnType<typeof misspellOneCondition>;

  beforeAll(() => {
    dir = copyPolicies();
    broken = misspellOneCondition(dir);
  });

  it('exits 2 and names file:line:column and <policy>/<rule> on stderr', () => {
    const run = stepgate(['test', dir]);
    expect(run.status, describeRun(run)).toBe(2);
    const where = new RegExp(
      `${broken.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${broken.line}:(\\d+) ${broken.policy}/${broken.rule}:`,
    );
    const match = where.exec(run.stderr);
    expect(match, `stderr should match ${where}\n${describeRun(run)}`).not.toBeNull();
    // The column points into the misspelt `resource.idzz` (or similar), not just the line.
    const column = Number(match?.[1]);
    expect(column).toBeGreaterThanOrEqual(broken.fieldStartColumn);
    expect(column).toBeLessThanOrEqual(broken.fieldEndColumn);
    expect(run.stderr).toContain('[cel/type]');
    expect(run.stdout).not.toMatch(/passed, \d+ failed/);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });

  it('--json reports ok: false with errors[] carrying file, line and code', () => {
    const run = stepgate(['test', dir, '--json']);
    expect(run.status, describeRun(run)).toBe(2);
    const report = parseJson(run);
    expect(report.ok).toBe(false);
    expect(report.errors).toHaveLength(1);
    const [error] = report.errors ?? [];
    expect(error).toMatchObject({
      code: 'cel/type',
      file: broken.file,
      line: broken.line,
      policy: broken.policy,
      rule: broken.rule,
    });
    expect(typeof error?.message).toBe('string');
    expect(typeof error?.column).toBe('number');
  });

  it('--format junit exits 2 with an <error type="cel/type"> in the broken file\'s testsuite', () => {
    const run = stepgate(['test', dir, '--format', 'junit']);
    expect(run.status, describeRun(run)).toBe(2);
    const report = parseJUnit(run.stdout);
    expect(report.testsuite.map((suite) => [suite.name, suite.errors])).toEqual([
      [broken.file, '1'],
    ]);
    expect(report.testsuite[0]?.testcase?.[0]?.error?.type).toBe('cel/type');
  });

  it('exits 2 with cel/syntax for an unbalanced parenthesis', () => {
    const syntaxDir = copyPolicies();
    const target = misspellOneCondition(syntaxDir);
    const full = join(syntaxDir, target.file);
    const lines = readFileSync(full, 'utf8').split('\n');
    lines[target.line - 1] = (lines[target.line - 1] as string).replace(/when: '/, "when: '((");
    writeFileSync(full, lines.join('\n'));
    const run = stepgate(['test', syntaxDir]);
    expect(run.status, describeRun(run)).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(`:${target.line}:\\d+ ${target.policy}/${target.rule}: .*\\[cel/syntax\\]`),
    );
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });
});

describe('stepgate test on an unusable directory', () => {
  it('exits 2 with a clear message and no stack trace for a missing directory', () => {
    const missing = join(tmpdir(), `stepgate-no-such-dir-${process.pid}-${Date.now()}`);
    const run = stepgate(['test', missing]);
    expect(run.status, describeRun(run)).toBe(2);
    expect(run.stderr).toContain(missing);
    expect(run.stderr).toMatch(/no such directory/i);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });

  it('--json on a missing directory prints ok: false and exits 2', () => {
    const missing = join(tmpdir(), `stepgate-no-such-dir-${process.pid}-${Date.now()}`);
    const run = stepgate(['test', missing, '--json']);
    expect(run.status, describeRun(run)).toBe(2);
    const report = parseJson(run);
    expect(report.ok).toBe(false);
    expect(report.errors?.[0]?.message).toContain(missing);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });

  it('exits 2 without a stack trace when given a file instead of a directory', () => {
    const run = stepgate(['test', join(policiesDir, 'stepgate.yaml')]);
    expect(run.status, describeRun(run)).toBe(2);
    expect(run.stderr).toMatch(/not a directory/i);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });
});

describe('stepgate command line', () => {
  it('--help exits 0 and lists the test command', () => {
    const run = stepgate(['--help']);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/^\s+test\b/m);
  });

  it('an unknown command exits non-zero without a stack trace', () => {
    const run = stepgate(['no-such-command']);
    expect(run.status, describeRun(run)).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(run.stderr).toMatch(/unknown command/i);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(STACK_FRAME);
  });
});
