/**
 * Seeded fuzz tests of the compiler and the evaluator. Every run is reproducible: the base
 * seed comes from STEPGATE_FUZZ_SEED (default below) and every failure message names both it
 * and the seed of the iteration that failed: `STEPGATE_FUZZ_SEED=<base>` replays the run,
 * `STEPGATE_FUZZ_ONLY=<iteration seed>` replays just that iteration.
 *
 * Tests may do I/O: the real example policies are read from /policies at the repo root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  formatCompileError,
  InvalidRequestError,
  PolicyEngine,
  type AuthEvidence,
  type CompileResult,
  type Decision,
  type DecisionRequest,
  type SourceFile,
  type TestSuite,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

const BASE_SEED = Number(process.env.STEPGATE_FUZZ_SEED ?? 0x5eed_2026) >>> 0;
/** Longer local runs: STEPGATE_FUZZ_SCALE=10 multiplies every iteration count. */
const SCALE = Math.max(1, Number(process.env.STEPGATE_FUZZ_SCALE ?? 1) || 1);
const COMPILE_ITERATIONS = 1_000 * SCALE;
const DECIDE_ITERATIONS = 2_000 * SCALE;

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }
  subset<T>(items: readonly T[]): T[] {
    return items.filter(() => this.chance(0.5));
  }
}

/** A distinct, reproducible seed per (test, iteration). */
const ONLY = process.env.STEPGATE_FUZZ_ONLY;
const iterationSeed = (salt: number, iteration: number): number =>
  ONLY !== undefined
    ? Number(ONLY) >>> 0
    : (Math.imul(BASE_SEED ^ salt, 0x9e3779b1) + Math.imul(iteration + 1, 0x85ebca6b)) >>> 0;
/** One iteration when replaying a single seed. */
const iterations = (count: number): number => (ONLY !== undefined ? 1 : count);

const replay = (seed: number, extra = ''): string =>
  `STEPGATE_FUZZ_SEED base ${BASE_SEED}, iteration seed ${seed}${extra ? `: ${extra}` : ''}`;

// ---------------------------------------------------------------------------------------------
// The real example repository

const policiesDir = fileURLToPath(new URL('../../../policies', import.meta.url));

function readRepository(dir: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ya?ml|json)$/.test(entry.name)) {
        files.push({
          path: relative(dir, full).split(sep).join('/'),
          content: readFileSync(full, 'utf8'),
        });
      }
    }
  };
  walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

const REPO = readRepository(policiesDir);
/** stepgate.yaml and the JSON Schemas of the live data it declares. */
const SETTINGS_FILES = REPO.filter(
  (f) => f.path === 'stepgate.yaml' || f.path.startsWith('schemas/'),
);
const DATA_FILES = REPO.filter((f) => f.path.startsWith('data/'));
const POLICY_FILES = REPO.filter(
  (f) =>
    !f.path.startsWith('data/') && !SETTINGS_FILES.includes(f) && !/\.test\.ya?ml$/.test(f.path),
);
const TEST_FILES = REPO.filter((f) => /\.test\.ya?ml$/.test(f.path));

// ---------------------------------------------------------------------------------------------
// Compile result invariants

const ERROR_CODE = /^[a-z]+\/[a-z_]+$/;

/** Nothing may ever add enumerable properties to Object.prototype (prototype pollution). */
function prototypeKeys(): string[] {
  const keys: string[] = [];
  for (const key in {}) keys.push(key);
  return keys;
}

/**
 * The invariants of every compile result, checked in plain code (an expect per field of every
 * error would dominate the run time) and asserted once with the list of violations.
 */
function compileResultProblems(result: CompileResult, inputPaths: readonly string[]): string[] {
  const problems: string[] = [];
  if (typeof result !== 'object' || result === null) return [`result is ${typeof result}`];
  const ok: unknown = result.ok;
  if (typeof ok !== 'boolean') problems.push(`ok is ${typeof ok}`);
  if (!Array.isArray(result.errors)) return [...problems, 'errors is not an array'];
  if (result.ok) {
    if (result.errors.length > 0) problems.push('ok: true with errors');
    if (result.policySet?.format !== 'stepgate.policy-set/v1')
      problems.push('ok: true without a policy set');
    if (!Array.isArray(result.policySet?.policies))
      problems.push('policySet.policies is not an array');
    if (!Array.isArray(result.testSuites)) problems.push('testSuites is not an array');
    try {
      JSON.stringify(result.policySet);
    } catch (error) {
      problems.push(`the policy set is not JSON-serialisable: ${(error as Error).message}`);
    }
  } else {
    if (result.errors.length === 0) problems.push('ok: false without errors');
    for (const error of result.errors) {
      const bad: string[] = [];
      if (typeof error?.code !== 'string' || !ERROR_CODE.test(error.code)) bad.push('code');
      if (typeof error?.message !== 'string' || error.message === '') bad.push('message');
      if (!inputPaths.includes(error?.file)) bad.push('file (not an input path)');
      if (error?.line !== undefined && !(Number.isInteger(error.line) && error.line >= 1))
        bad.push('line');
      if (error?.column !== undefined && !(Number.isInteger(error.column) && error.column >= 1)) {
        bad.push('column');
      }
      try {
        if (typeof formatCompileError(error) !== 'string') bad.push('formatCompileError');
      } catch (e) {
        bad.push(`formatCompileError threw ${(e as Error).message}`);
      }
      if (bad.length > 0)
        problems.push(`bad ${bad.join(', ')}: ${JSON.stringify(error)?.slice(0, 400)}`);
    }
  }
  const polluted = prototypeKeys();
  if (polluted.length > 0)
    problems.push(`Object.prototype was polluted with ${polluted.join(', ')}`);
  return problems;
}

/** Compiles, turning a throw into a test failure that names the seed, and times the call. */
function compileChecked(files: SourceFile[], why: string, maxMs = 5_000): CompileResult {
  const started = performance.now();
  let result: CompileResult;
  try {
    result = compile(files);
  } catch (error) {
    const e = error as Error;
    expect.fail(`compile threw ${e?.name}: ${e?.message}\n${why}\n${e?.stack ?? ''}`);
  }
  const elapsed = performance.now() - started;
  if (elapsed >= maxMs)
    expect.fail(`${why}: compile took ${Math.round(elapsed)} ms (limit ${maxMs} ms)`);
  const problems = compileResultProblems(
    result,
    files.map((f) => f.path),
  );
  if (problems.length > 0) expect(problems, why).toEqual([]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Text mutations

const WEIRD_CHARS = [
  '\0',
  '\t',
  '\r',
  '\n',
  '\u000b',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udfff',
  '😀',
  '𝔘',
  'é',
  'ß',
  '中',
  '\u0301',
];
const YAML_CHARS = [...':{}[],&*!|>\'"%@`#-?~=<\\/. 0123456789aZ_$()+'];

function randomChar(rng: Rng): string {
  if (rng.chance(0.3)) return rng.pick(WEIRD_CHARS);
  if (rng.chance(0.6)) return rng.pick(YAML_CHARS);
  return String.fromCharCode(rng.int(0x250));
}

function randomString(rng: Rng, maxLength: number): string {
  let out = '';
  const length = rng.int(maxLength + 1);
  for (let i = 0; i < length; i++) out += randomChar(rng);
  return out;
}

const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
].join('\n');

const NASTY_SNIPPETS: readonly ((rng: Rng) => string)[] = [
  () => 'a: &a [*a]',
  () => '&x {self: *x}',
  () => BILLION_LAUGHS,
  () => '*undefined_alias',
  () => 'x: !!binary AAAA',
  () => 'x: !!js/function "function(){}"',
  () => '!<tag:yaml.org,2002:map> {}',
  () => '%YAML 1.1\n---',
  () => '%TAG ! tag:example.com,2000:\n---',
  () => '---\n...\n---',
  () => '? [complex, key]\n: value',
  () => '<<: {merged: true}',
  () => 'dup: 1\ndup: 2',
  () => '__proto__: {polluted: yes}',
  () => 'constructor: {prototype: {polluted: yes}}',
  (rng) => `${'['.repeat(rng.between(100, 5000))}`,
  (rng) => `${'{a: '.repeat(rng.between(100, 2000))}1${'}'.repeat(rng.between(0, 2000))}`,
  (rng) => `x: "${'x'.repeat(rng.between(10_000, 100_000))}"`,
  (rng) => `x: ${'y'.repeat(rng.between(10_000, 100_000))}`,
  (rng) => `x: |\n${'  line\n'.repeat(rng.between(100, 5_000))}`,
  (rng) =>
    `x: ${rng.pick(['1e999', '-0', '.nan', '.inf', '0x7fffffffffffffffff', '~', 'null', '!!null ""', '2026-02-30T99:99:99Z'])}`,
  (rng) => '\t'.repeat(rng.between(1, 10)) + 'k: v',
  (rng) => '\0'.repeat(rng.between(1, 10)),
];

function deepWhen(rng: Rng): string {
  const n = rng.pick([5_000, 4_999, 2_000, 300, 251, 249]);
  return rng.pick([
    '('.repeat(n),
    `${'('.repeat(n)}true${')'.repeat(n)}`,
    `${'!'.repeat(n)}true`,
    `${'-'.repeat(n)}1 == 1`,
    `${'['.repeat(n)}${']'.repeat(n)} == []`,
    `${'{"a": '.repeat(Math.min(n, 1_500))}1${'}'.repeat(Math.min(n, 1_500))} == {}`,
    Array(Math.min(n, 1_600)).fill('true').join(' && '),
    `principal.${'a.'.repeat(Math.min(n, 3_000))}b`,
    `"${'\\'.repeat(n)}"`,
    `'${'x'.repeat(n * 3)}' == ''`,
    `context.ip.inCidr("${'1'.repeat(n)}")`,
    `action.globMatch("${'{'.repeat(n)}")`,
    `now.timeOfDay("${'Z'.repeat(n)}") == ""`,
  ]);
}

type Mutation = (text: string, rng: Rng) => string;

const MUTATIONS: Record<string, Mutation> = {
  flipChar(text, rng) {
    if (text.length === 0) return randomChar(rng);
    const i = rng.int(text.length);
    return text.slice(0, i) + randomChar(rng) + text.slice(i + 1);
  },
  flipByte(text, rng) {
    // Flip one bit of one UTF-8 byte and decode leniently (may yield U+FFFD).
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length === 0) return text;
    const i = rng.int(bytes.length);
    bytes[i] = (bytes[i] as number) ^ (1 << rng.int(8));
    return bytes.toString('utf8');
  },
  deleteRange(text, rng) {
    const start = rng.int(text.length + 1);
    return text.slice(0, start) + text.slice(start + rng.between(1, 40));
  },
  insertRandom(text, rng) {
    const i = rng.int(text.length + 1);
    return text.slice(0, i) + randomString(rng, 20) + text.slice(i);
  },
  duplicateLine(text, rng) {
    const lines = text.split('\n');
    const i = rng.int(lines.length);
    lines.splice(i, 0, ...Array(rng.between(1, 3)).fill(lines[i]));
    return lines.join('\n');
  },
  swapLines(text, rng) {
    const lines = text.split('\n');
    const i = rng.int(lines.length);
    const j = rng.int(lines.length);
    [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    return lines.join('\n');
  },
  deleteLine(text, rng) {
    const lines = text.split('\n');
    lines.splice(rng.int(lines.length), 1);
    return lines.join('\n');
  },
  reindentLine(text, rng) {
    const lines = text.split('\n');
    const i = rng.int(lines.length);
    const body = (lines[i] as string).trimStart();
    lines[i] = rng.pick(['', ' ', '  ', '\t', ' \t', '      ', '            ']) + body;
    return lines.join('\n');
  },
  truncate(text, rng) {
    return text.slice(0, rng.int(text.length + 1));
  },
  tabs(text, rng) {
    return rng.chance(0.5)
      ? text.replace(/^ {2}/gm, '\t')
      : text.replace(/ /g, () => (rng.chance(0.1) ? '\t' : ' '));
  },
  nulBytes(text, rng) {
    const i = rng.int(text.length + 1);
    return `${text.slice(0, i)}${'\0'.repeat(rng.between(1, 4))}${text.slice(i)}`;
  },
  replaceScalar(text, rng) {
    // Swap the value after a random `key:` for another YAML value of any type.
    const keys = [...text.matchAll(/^(\s*-?\s*[A-Za-z]+:)[ ]*(.*)$/gm)];
    if (keys.length === 0) return text;
    const match = rng.pick(keys);
    const replacement = rng.pick([
      '',
      '~',
      'null',
      'true',
      '0',
      '-1',
      '1e999',
      '101',
      '[]',
      '{}',
      '[1, 2]',
      '{a: b}',
      '""',
      "'x'",
      '"💥"',
      '&anchor x',
      '*anchor',
      '!!str 1',
      '|\n    multi\n    line',
      '>-\n    folded',
      randomString(rng, 12),
    ]);
    const start = match.index as number;
    return (
      text.slice(0, start) + `${match[1]} ${replacement}` + text.slice(start + match[0].length)
    );
  },
  deepNestingInWhen(text, rng) {
    const whens = [...text.matchAll(/^(\s*when:)[^\n]*(\n\s{6,}[^\n]*)*/gm)];
    const expr = deepWhen(rng);
    const value = JSON.stringify(expr);
    if (whens.length === 0) return `${text}\n    when: ${value}\n`;
    const match = rng.pick(whens);
    const start = match.index as number;
    return text.slice(0, start) + `${match[1]} ${value}` + text.slice(start + match[0].length);
  },
  hugeString(text, rng) {
    const i = rng.int(text.length + 1);
    const huge = rng.pick(['x', 'é', '😀', 'ab ', '\\n']).repeat(rng.between(10_000, 100_000));
    return text.slice(0, i) + huge + text.slice(i);
  },
  nastySnippet(text, rng) {
    const snippet = rng.pick(NASTY_SNIPPETS)(rng);
    const lines = text.split('\n');
    lines.splice(rng.int(lines.length + 1), 0, snippet);
    return lines.join('\n');
  },
  unicodeEverywhere(text, rng) {
    return text.replace(/[a-z]/g, (ch) => (rng.chance(0.02) ? rng.pick(WEIRD_CHARS) : ch));
  },
  randomFile(_text, rng) {
    return randomString(rng, 400);
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

// ---------------------------------------------------------------------------------------------
// a. the compiler never throws on garbled policies

describe('fuzz: compile never throws', () => {
  it(
    `returns well-formed results for ${COMPILE_ITERATIONS} garbled copies of the example repository`,
    () => {
      // ~15 ms per compile of a garbled slice (YAML parsing and type-checking dominate): about
      // 15 s on an idle 2-core machine. The timeout only catches a hang, with room for load.
      const count = iterations(COMPILE_ITERATIONS);
      for (let i = 0; i < count; i++) {
        const seed = iterationSeed(1, i);
        const rng = new Rng(seed);
        const target = rng.pick(REPO);
        const applied: string[] = [];
        let content = target.content;
        const rounds = rng.between(1, 4);
        for (let r = 0; r < rounds; r++) {
          const name = rng.pick(MUTATION_NAMES);
          applied.push(name);
          content = (MUTATIONS[name] as Mutation)(content, rng);
        }
        // Compile a slice (settings, sometimes the data and a neighbour, plus the garbled file) so
        // each iteration is fast; one iteration in 200 compiles the whole repository.
        const whole = rng.chance(1 / 200);
        const files = new Map<string, string>();
        const include = whole
          ? REPO
          : [
              ...SETTINGS_FILES,
              ...(rng.chance(0.3) ? DATA_FILES : []),
              ...(rng.chance(0.3) ? [rng.pick(POLICY_FILES)] : []),
              ...(rng.chance(0.1) ? [rng.pick(TEST_FILES)] : []),
            ];
        for (const file of include) files.set(file.path, file.content);
        files.set(target.path, content);
        const input = [...files].map(([path, text]) => ({ path, content: text }));
        compileChecked(input, replay(seed, `${target.path} <- ${applied.join(', ')}`));
      }
    },
    60_000 * SCALE,
  );

  it('reports (not throws) on pathological inputs', () => {
    const settings = 'apiVersion: stepgate/v1\nkind: Settings\n';
    const policy = (when: string) =>
      `apiVersion: stepgate/v1\nkind: Policy\nname: p\nrules:\n  - name: r\n    effect: allow\n    when: ${JSON.stringify(when)}\n`;
    const cases: Record<string, SourceFile[]> = {
      'empty repository': [],
      'empty files': [
        { path: 'stepgate.yaml', content: '' },
        { path: 'p.yaml', content: '' },
        { path: 'data/x.yaml', content: '' },
        { path: 'p.test.yaml', content: '' },
      ],
      'parens x5000 in when': [
        { path: 'stepgate.yaml', content: settings },
        { path: 'p.yaml', content: policy('('.repeat(5_000)) },
      ],
      'balanced parens x4990 in when': [
        { path: 'stepgate.yaml', content: settings },
        { path: 'p.yaml', content: policy(`${'('.repeat(4_990)}true${')'.repeat(4_990)}`) },
      ],
      'unary ! x9990 in when': [
        { path: 'stepgate.yaml', content: settings },
        { path: 'p.yaml', content: policy(`${'!'.repeat(9_990)}true`) },
      ],
      'billion laughs in a policy': [{ path: 'p.yaml', content: BILLION_LAUGHS }],
      'billion laughs in data': [{ path: 'data/lol.yaml', content: BILLION_LAUGHS }],
      'billion laughs in settings': [{ path: 'stepgate.yaml', content: BILLION_LAUGHS }],
      'self alias': [{ path: 'p.yaml', content: 'a: &a [*a]\n' }],
      'self alias in data': [{ path: 'data/x.yaml', content: 'a: &a [*a]\n' }],
      'self alias in a test': [{ path: 'p.test.yaml', content: '&a {cases: [*a]}\n' }],
      'deep flow nesting in data': [
        { path: 'data/x.json', content: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
      ],
      'deep block nesting': [
        {
          path: 'p.yaml',
          content: Array.from({ length: 3_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
        },
      ],
      '1 MB string': [
        { path: 'stepgate.yaml', content: settings },
        { path: 'p.yaml', content: policy(`"${'x'.repeat(1_000_000)}" == ""`) },
      ],
      'NUL bytes': [{ path: 'stepgate.yaml', content: `${settings}\0\0\0` }],
      'tabs for indentation': [{ path: 'stepgate.yaml', content: settings.replace(/^/gm, '\t') }],
      'lone surrogates': [{ path: 'p.yaml', content: 'name: \ud800\udfff\ud800' }],
      'many documents': [{ path: 'p.yaml', content: '---\na: 1\n'.repeat(5_000) }],
      'data file named like a key': [{ path: 'data/hasOwnProperty.yaml', content: 'x: 1' }],
      'data file and folder clash': [
        { path: 'data/a.yaml', content: 'b: 1' },
        { path: 'data/a/b.yaml', content: '2' },
      ],
      'empty data file name': [{ path: 'data/.yaml', content: '1' }],
    };
    for (const [name, files] of Object.entries(cases)) {
      compileChecked(files, `pathological input "${name}"`);
    }
  }, 20_000);

  // Regression tests for bugs the fuzzer found; see the report. They fail until fixed.
  it('a data file path cannot pollute Object.prototype (data/__proto__/x.yaml)', () => {
    for (const path of [
      'data/__proto__/polluted.yaml',
      'data/constructor/prototype/polluted.yaml',
    ]) {
      try {
        const result = compile([
          { path: 'stepgate.yaml', content: 'apiVersion: stepgate/v1\nkind: Settings\n' },
          { path, content: 'yes' },
        ]);
        expect(prototypeKeys(), `${path}: Object.prototype gained keys`).toEqual([]);
        expect(compileResultProblems(result, ['stepgate.yaml', path]), path).toEqual([]);
        // A later, unrelated compile must not be affected either.
        const clean = compile(SETTINGS_FILES);
        expect(clean.errors, path).toEqual([]);
      } finally {
        // Undo the pollution so a failure here cannot break the other tests in this worker.
        delete (Object.prototype as Record<string, unknown>).polluted;
        delete (Object as unknown as Record<string, unknown>).polluted;
      }
    }
  });

  it('every error of a repository using stepgate.yml names stepgate.yml', () => {
    const files = [
      {
        path: 'stepgate.yml',
        content:
          'apiVersion: stepgate/v1\nkind: Settings\n---\napiVersion: stepgate/v1\nkind: Settings\n',
      },
    ];
    const result = compile(files);
    expect(result.ok).toBe(false);
    for (const error of result.errors)
      expect(error.file, JSON.stringify(error)).toBe('stepgate.yml');
  });

  it('a chain of YAML anchors compiles in time linear in its length', () => {
    // 1,200 anchors, each aliasing the previous one: ~25 KB, no alias is used twice. A linear
    // compile takes milliseconds; today it takes seconds, and 3,000 anchors take minutes.
    let content = 'a0: &a0 []\n';
    for (let i = 1; i < 1_200; i++) content += `a${i}: &a${i} [*a${i - 1}]\n`;
    for (const path of ['data/chain.yaml', 'chain.yaml']) {
      compileChecked([{ path, content }], `anchor chain in ${path}`, 1_000);
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// b/c. the evaluator

const EFFECTS = ['allow', 'deny', 'step_up'];

interface Vocabulary {
  ids: string[];
  roles: string[];
  groups: string[];
  actions: string[];
  kinds: string[];
  resourceIds: string[];
  contexts: Record<string, unknown>[];
  resourceAttributes: Record<string, unknown>[];
  evidence: AuthEvidence[];
  nows: Date[];
}

function vocabularyOf(suites: readonly TestSuite[]): Vocabulary {
  const cases = suites.flatMap((suite) => suite.cases);
  const unique = <T>(items: T[]): T[] => [...new Set(items)];
  return {
    ids: unique([
      ...cases.map((c) => c.request.principal.id),
      'system:serviceaccount:argocd:app',
      'system:serviceaccount:kube-system:x',
      'mallory',
    ]),
    roles: unique(cases.flatMap((c) => c.request.principal.roles ?? [])),
    groups: unique(cases.flatMap((c) => c.request.principal.groups ?? [])),
    actions: unique([...cases.map((c) => c.request.action), 'k8s:get:pods', 'http:GET', 'deploy']),
    kinds: unique(cases.map((c) => c.request.resource.kind)),
    resourceIds: unique([...cases.map((c) => c.request.resource.id), 'prod/x', '/admin/users']),
    contexts: cases.flatMap((c) => (c.request.context ? [c.request.context] : [])),
    resourceAttributes: cases.flatMap((c) =>
      c.request.resource.attributes ? [c.request.resource.attributes] : [],
    ),
    evidence: cases.flatMap((c) => (c.evidence ? [c.evidence] : [])),
    nows: unique(cases.map((c) => c.now.getTime())).map((t) => new Date(t)),
  };
}

const WEIRD_STRINGS = [
  '',
  ' ',
  '\0',
  '\u202e',
  '😀',
  '\ud800',
  '*',
  '**',
  '{a,b}',
  '{',
  '}',
  '/',
  '//',
  '../..',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  'true',
  'NaN',
  '10.1.2.3',
  '10.0.0.0/8',
  '::ffff:10.0.0.1',
  '::ffff:0a00:0001',
  '2001:db8:100::1',
  'fe80::1%eth0',
  ':::::',
  '::',
  '1.2.3',
  '1.2.3.4.5',
  '256.256.256.256',
  '01.02.03.04',
  '1.2.3.4/33',
  '1'.repeat(70),
  'a'.repeat(100_000),
  '2026-11-23T10:00:00Z',
  '2026-02-30T25:61:61Z',
  '0000-00-00',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00Z',
  '1e309',
  'Europe/Berlin',
  'Mars/Olympus_Mons',
  '08:00',
  '24:00',
];

function randomJson(rng: Rng, depth = 0): unknown {
  const roll = rng.int(depth > 3 ? 6 : 9);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([
        0,
        -0,
        1,
        -1,
        0.5,
        5,
        6,
        64496,
        2 ** 53,
        2 ** 53 + 2,
        -(2 ** 63),
        1e308,
        Number.MAX_VALUE,
        Number.MIN_VALUE,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        rng.float() * 1e12,
      ]);
    case 3:
    case 4:
      return rng.pick(WEIRD_STRINGS);
    case 5:
      return randomString(rng, 30);
    case 6:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1));
    case 7:
    case 8: {
      // JSON.parse makes `__proto__` an own key, as a JSON request body would.
      const out: Record<string, unknown> = JSON.parse('{}');
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.pick([
          ...WEIRD_STRINGS.slice(0, 20),
          'ip',
          'geo',
          'country',
          'asn',
          'changes',
          'classification',
        ]);
        Object.defineProperty(out, key, {
          value: randomJson(rng, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    default:
      return undefined;
  }
}

function deeplyNested(depth: number, leaf: unknown): unknown {
  let value: unknown = leaf;
  // One child per level: a tree, not a DAG (two keys sharing a child would be 2^depth paths).
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { geo: value, ip: '10.0.0.1' } : [value];
  return value;
}

/** Randomly perturbs a value at any position: drop it, retype it, or keep it. */
function garble(rng: Rng, value: unknown): unknown {
  if (rng.chance(0.1)) return undefined;
  if (rng.chance(0.12)) return randomJson(rng);
  return value;
}

function randomValidRequest(rng: Rng, v: Vocabulary): DecisionRequest {
  const request: DecisionRequest = {
    principal: { id: rng.pick(v.ids) },
    action: rng.pick(v.actions),
    resource: { kind: rng.pick(v.kinds), id: rng.pick(v.resourceIds) },
  };
  if (rng.chance(0.7)) request.principal.roles = rng.subset(v.roles);
  if (rng.chance(0.8)) request.principal.groups = rng.subset(v.groups);
  if (rng.chance(0.2)) request.principal.attributes = { team: rng.pick(['payments', 'infra']) };
  if (rng.chance(0.4) && v.resourceAttributes.length > 0) {
    request.resource.attributes = structuredClone(rng.pick(v.resourceAttributes));
  }
  if (rng.chance(0.6)) {
    const base =
      v.contexts.length > 0 && rng.chance(0.6) ? structuredClone(rng.pick(v.contexts)) : {};
    if (rng.chance(0.4))
      base.ip = rng.pick([
        '10.1.2.3',
        '8.8.8.8',
        '100.64.3.4',
        '198.51.100.200',
        '2001:db8:100::7',
        '::ffff:10.0.0.1',
      ]);
    if (rng.chance(0.4))
      base.geo = {
        country: rng.pick(['DE', 'US', 'KP', 'RU']),
        asn: rng.pick([3320, 64496, 65550]),
      };
    request.context = base;
  }
  return request;
}

function randomValidEvidence(rng: Rng, v: Vocabulary, now: Date): AuthEvidence | undefined {
  if (rng.chance(0.15)) return undefined;
  if (rng.chance(0.3) && v.evidence.length > 0) return structuredClone(rng.pick(v.evidence));
  const evidence: AuthEvidence = {};
  if (rng.chance(0.7)) evidence.level = rng.pick(['pwd', 'mfa', 'phishing_resistant']);
  if (rng.chance(0.2))
    evidence.acr = rng.pick(['urn:stepgate:mfa', 'urn:stepgate:phr', 'urn:other']);
  if (rng.chance(0.2)) evidence.amr = rng.subset(['pwd', 'otp', 'hwk', 'mfa']);
  if (rng.chance(0.8)) {
    const at = new Date(now.getTime() - rng.between(-2, 120) * 60_000);
    evidence.authTime = rng.chance(0.5) ? at : at.toISOString();
  }
  if (rng.chance(0.4)) evidence.approvals = rng.subset([...v.ids.slice(0, 6), 'bob', 'carol']);
  return evidence;
}

function randomNow(rng: Rng, v: Vocabulary): Date {
  if (rng.chance(0.5) && v.nows.length > 0) return new Date(rng.pick(v.nows).getTime());
  // Any minute of two weeks around the suites' dates: weekdays, weekends, nights.
  return new Date(Date.UTC(2026, 10, 16) + rng.int(14 * 24 * 60) * 60_000);
}

function garbledRequest(rng: Rng, v: Vocabulary): unknown {
  if (rng.chance(0.05)) return randomJson(rng);
  const base = randomValidRequest(rng, v) as unknown as Record<string, any>;
  const principal = { ...base.principal };
  for (const key of ['id', 'roles', 'groups', 'attributes'])
    principal[key] = garble(rng, principal[key]);
  // Long lists, as long as a parsed request carries (the wire parser, @stepgate/protocol's
  // parseDecisionRequest, refuses more than 1024 entries before the engine sees them).
  if (rng.chance(0.05)) principal.groups = Array.from({ length: 1024 }, (_, i) => `g${i}`);
  if (rng.chance(0.05)) principal.roles = Array(1024).fill('deployer');
  const resource = { ...base.resource };
  for (const key of ['kind', 'id', 'attributes']) resource[key] = garble(rng, resource[key]);
  const request: Record<string, unknown> = {
    principal: garble(rng, principal),
    action: garble(rng, base.action),
    resource: garble(rng, resource),
    context: garble(rng, base.context),
  };
  if (rng.chance(0.1)) request.context = { ip: rng.pick(WEIRD_STRINGS), geo: randomJson(rng) };
  if (rng.chance(0.05))
    request.context = deeplyNested(rng.pick([100, 5_000, 20_000]), randomJson(rng));
  if (rng.chance(0.05))
    request.context = { geo: { country: rng.pick(WEIRD_STRINGS), asn: randomJson(rng) } };
  if (rng.chance(0.05)) request.extra = randomJson(rng);
  for (const key of Object.keys(request))
    if (request[key] === undefined && rng.chance(0.5)) delete request[key];
  return request;
}

function garbledEvidence(rng: Rng, v: Vocabulary, now: Date): unknown {
  if (rng.chance(0.15)) return randomJson(rng);
  const evidence = (randomValidEvidence(rng, v, now) ?? {}) as Record<string, unknown>;
  for (const key of ['level', 'acr', 'amr', 'authTime', 'approvals', 'grants']) {
    if (rng.chance(0.25)) evidence[key] = randomJson(rng);
  }
  if (rng.chance(0.1))
    evidence.authTime = rng.pick([
      new Date(Number.NaN),
      new Date(8.64e15),
      new Date(-8.64e15),
      8.64e15 + 1,
      -1,
      rng.pick(WEIRD_STRINGS),
    ]);
  if (rng.chance(0.05))
    evidence.approvals = Array.from({ length: 100_000 }, (_, i) => `approver${i % 1_000}`);
  return evidence;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringList = (value: unknown): boolean =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * The documented request contract, independent of the implementation: 'invalid' when a
 * required part is missing or of the wrong type, 'valid' when every part has its documented
 * type, 'either' for the grey zone (e.g. explicit nulls) where both answers are acceptable.
 */
function classify(request: unknown): 'valid' | 'invalid' | 'either' {
  if (!isRecord(request)) return 'invalid';
  const { principal, action, resource, context } = request;
  if (!isRecord(principal) || typeof principal.id !== 'string' || principal.id === '')
    return 'invalid';
  if (typeof action !== 'string' || action === '') return 'invalid';
  if (!isRecord(resource) || typeof resource.kind !== 'string' || typeof resource.id !== 'string')
    return 'invalid';
  const optionalOk = (value: unknown, ok: (v: unknown) => boolean): boolean =>
    value === undefined || ok(value);
  const typed =
    optionalOk(principal.roles, isStringList) &&
    optionalOk(principal.groups, isStringList) &&
    optionalOk(principal.attributes, isRecord) &&
    optionalOk(resource.attributes, isRecord) &&
    optionalOk(context, isRecord);
  // Size limits are the wire parser's (@stepgate/protocol), not the engine's.
  return typed ? 'valid' : 'either';
}

/** What is wrong with a decision, by the documented Decision shape and combining rules. */
function decisionProblems(decision: Decision): string[] {
  const problems: string[] = [];
  if (typeof decision !== 'object' || decision === null) return [`decision is ${typeof decision}`];
  if (!EFFECTS.includes(decision.effect)) problems.push(`effect ${String(decision.effect)}`);
  if (!Array.isArray(decision.reasons)) return [...problems, 'reasons is not an array'];
  for (const reason of decision.reasons) {
    if (
      typeof reason?.policy !== 'string' ||
      typeof reason.rule !== 'string' ||
      !EFFECTS.includes(reason.effect)
    ) {
      problems.push(`malformed reason ${show(reason)}`);
    }
  }
  if (typeof decision.decisionId !== 'string') problems.push('decisionId is not a string');
  if (!(Number.isFinite(decision.durationNs) && decision.durationNs >= 0))
    problems.push(`durationNs ${decision.durationNs}`);
  if (decision.effect === 'deny' && decision.reasons.length === 0)
    problems.push('deny without a reason');
  if (decision.effect === 'step_up') {
    if (!decision.require || Object.keys(decision.require).length === 0)
      problems.push('step_up without require');
    if (decision.reasons.length === 0) problems.push('step_up without a reason');
    const unmet = decision.unmet ?? [];
    if (unmet.length === 0) problems.push('step_up without unmet parts');
    for (const part of unmet)
      if (decision.require?.[part] === undefined) problems.push(`unmet ${part} not in require`);
  } else if (decision.require !== undefined || decision.unmet !== undefined) {
    problems.push(`require or unmet on ${decision.effect}`);
  }
  for (const error of decision.errors ?? []) {
    if (
      typeof error?.policy !== 'string' ||
      typeof error.rule !== 'string' ||
      typeof error.message !== 'string'
    ) {
      problems.push(`malformed rule error ${show(error)}`);
    }
  }
  return problems;
}

/** A short, bounded description of a random input for failure messages. */
const show = (value: unknown): string => {
  try {
    const text = JSON.stringify(value, (_k, v) =>
      typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
    );
    return text === undefined ? String(value) : text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return String(value);
  }
};

describe('fuzz: the evaluator on the example policies', () => {
  let engine: PolicyEngine;
  let otherEngine: PolicyEngine;
  let vocabulary: Vocabulary;

  beforeAll(() => {
    const result = compile(REPO);
    if (!result.ok)
      throw new Error(
        `the example policies do not compile: ${result.errors.map(formatCompileError).join('\n')}`,
      );
    engine = new PolicyEngine(result.policySet);
    otherEngine = new PolicyEngine(structuredClone(result.policySet));
    vocabulary = vocabularyOf(result.testSuites);
  });

  it(
    `returns a Decision or throws InvalidRequestError for ${DECIDE_ITERATIONS} garbled requests`,
    () => {
      const outcomes = { decided: 0, rejected: 0 };
      for (let i = 0; i < iterations(DECIDE_ITERATIONS); i++) {
        const seed = iterationSeed(2, i);
        const rng = new Rng(seed);
        const now = randomNow(rng, vocabulary);
        const request = garbledRequest(rng, vocabulary);
        const evidence = rng.chance(0.8) ? garbledEvidence(rng, vocabulary, now) : undefined;
        const options = rng.chance(0.9)
          ? { now }
          : rng.chance(0.5)
            ? {}
            : { now: new Date(Number.NaN) };
        const expected = classify(request);
        const why = () =>
          replay(
            seed,
            `request ${show(request)}, evidence ${show(evidence)}, now ${show(options.now)}`,
          );
        let decision: Decision;
        try {
          decision = engine.decide(request as DecisionRequest, evidence as AuthEvidence, options);
        } catch (error) {
          if (!(error instanceof InvalidRequestError)) {
            const e = error as Error;
            expect.fail(`decide threw ${e?.name}: ${e?.message}\n${why()}\n${e?.stack ?? ''}`);
          }
          if (expected === 'valid')
            expect.fail(`${why()}: rejected a well-formed request (${error.message})`);
          if (error.code !== 'request/invalid') expect.fail(`${why()}: error code ${error.code}`);
          outcomes.rejected++;
          continue;
        }
        if (expected === 'invalid') expect.fail(`${why()}: accepted a malformed request`);
        const problems = decisionProblems(decision);
        if (problems.length > 0) expect(problems, why()).toEqual([]);
        outcomes.decided++;
      }
      // The generator must exercise both outcomes, or this test proves little.
      if (ONLY === undefined) {
        expect(outcomes.decided, JSON.stringify(outcomes)).toBeGreaterThan(200);
        expect(outcomes.rejected, JSON.stringify(outcomes)).toBeGreaterThan(200);
      }
    },
    20_000 * SCALE,
  );

  it(
    `is deterministic, does not mutate its input, and never mixes deny reasons into allow (${DECIDE_ITERATIONS} valid requests)`,
    () => {
      const seen = new Set<string>();
      for (let i = 0; i < iterations(DECIDE_ITERATIONS); i++) {
        const seed = iterationSeed(3, i);
        const rng = new Rng(seed);
        const now = randomNow(rng, vocabulary);
        const request = randomValidRequest(rng, vocabulary);
        const evidence = randomValidEvidence(rng, vocabulary, now);
        const why = replay(
          seed,
          `request ${show(request)}, evidence ${show(evidence)}, now ${now.toISOString()}`,
        );
        const before = structuredClone({ request, evidence });

        const first = engine.decide(request, evidence, { now: new Date(now) });
        expect({ request, evidence }, `${why}: decide mutated its input`).toEqual(before);
        // Same engine again (warm caches), then an independent engine on a copy of the inputs.
        const second = engine.decide(request, evidence, { now: new Date(now) });
        const third = otherEngine.decide(structuredClone(request), structuredClone(evidence), {
          now: new Date(now),
        });
        const essence = (d: Decision) => ({
          effect: d.effect,
          require: d.require,
          unmet: d.unmet,
          reasons: d.reasons,
          audit: d.audit,
          errors: d.errors,
        });
        expect(essence(second), `${why}: second decision differs`).toEqual(essence(first));
        expect(essence(third), `${why}: another engine decides differently`).toEqual(
          essence(first),
        );

        expect(decisionProblems(first), why).toEqual([]);
        if (first.effect === 'allow') {
          expect(
            first.reasons.filter((r) => r.effect === 'deny'),
            `${why}: deny reason on allow`,
          ).toEqual([]);
          // defaultEffect is deny in the example repository: an allow needs an allow rule.
          expect(first.reasons.length, `${why}: allow without an allow rule`).toBeGreaterThan(0);
        }
        // Reasons explain the effect they are reported with.
        expect(
          first.reasons.filter((r) => r.effect !== first.effect),
          `${why}: reasons of another effect`,
        ).toEqual([]);
        seen.add(first.effect);
      }
      if (ONLY !== undefined) return;
      expect([...seen].sort(), 'the generator reaches every effect').toEqual([
        'allow',
        'deny',
        'step_up',
      ]);
    },
    20_000 * SCALE,
  );
});
