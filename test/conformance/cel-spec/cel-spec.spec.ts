import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runCase, type CaseResult } from './conformance-case.js';
import { fieldsOf, parseTextproto, stringField, type TextMessage } from './textproto.js';

/*
 * The cel-spec `simple` conformance files that apply to Stepgate's conditions (testdata/, with
 * the commit and licence in testdata/README.md), run through Stepgate's CEL setup
 * (conformance-case.ts). Every case passes, is a reviewed known failure of the CEL library
 * below, or is not applicable for a named reason: the spec fails when an unlisted case fails,
 * when a listed one starts passing (take it off the list), and when the counts below change.
 */

const FILES = [
  'basic',
  'bindings_ext',
  'comparisons',
  'conversions',
  'fields',
  'fp_math',
  'integer_math',
  'lists',
  'logic',
  'macros',
  'macros2',
  'parse',
  'plumbing',
  'string',
  'string_ext',
  'timestamps',
] as const;

/**
 * Sections (or single cases) of extension libraries whose functions the environment does not
 * define; a case there that the type check refuses is not applicable.
 */
const NOT_OFFERED: Record<string, string> = {
  'string_ext/char_at': 'string.charAt()',
  'string_ext/replace': 'string.replace()',
  'string_ext/quote': 'strings.quote()',
  'string_ext/format': 'string.format()',
  'string_ext/reverse': 'string.reverse()',
  'string_ext/value_errors/charat_out_of_range': 'string.charAt()',
  'macros2/exists': 'the two-variable exists(i, v, ...)',
  'macros2/all': 'the two-variable all(i, v, ...)',
  'macros2/existsOne': 'existsOne(i, v, ...)',
  'macros2/transformList': 'transformList()',
  'macros2/transformMap': 'transformMap()',
};

/** Failures of @marcbachmann/cel-js, by reason, each reviewed. */
const KNOWN_FAILURES: Record<string, readonly string[]> = {
  'a non-ASCII character in a bytes literal is taken as one byte (its code point), not as its UTF-8 encoding':
    [
      'basic/self_eval_nonzeroish/self_eval_bytes_escape',
      'comparisons/eq_literal/eq_bytes',
      'comparisons/ne_literal/not_ne_bytes',
    ],
  'numeric equality across int, uint and double is not applied inside lists and maps (==, in)': [
    'comparisons/eq_literal/eq_list_mixed_type_numbers',
    'comparisons/eq_literal/eq_map_mixed_type_numbers',
    'lists/in/uint_in_ints',
    'lists/in/uint_in_doubles',
    'lists/in/int_in_uints',
    'lists/in/double_in_uints',
  ],
  'no ordering operators (<, <=, >, >=) on bytes': [
    'comparisons/lt_literal/lt_bytes',
    'comparisons/lt_literal/not_lt_bytes_same',
    'comparisons/lt_literal/not_lt_bytes_width',
    'comparisons/gt_literal/gt_bytes_one',
    'comparisons/gt_literal/gt_bytes_one_to_empty',
    'comparisons/gt_literal/not_gt_bytes_sorting',
    'comparisons/lte_literal/lte_bytes_empty',
    'comparisons/lte_literal/not_lte_bytes_length',
    'comparisons/gte_literal/gte_bytes_to_empty',
    'comparisons/gte_literal/not_gte_bytes_empty_to_nonempty',
    'comparisons/gte_literal/gte_bytes_samelength',
    'comparisons/bound/bytes_gt_left_false',
  ],
  'int/double comparison at the edge of the int64 range compares through a lossy double': [
    'comparisons/lt_literal/not_lt_dyn_int_big_lossy_double',
    'comparisons/gt_literal/not_gt_dyn_big_double_int',
    'comparisons/lte_literal/lte_dyn_big_double_int',
    'comparisons/gte_literal/gte_dyn_int_big_lossy_double',
  ],
  'a double literal without a leading digit (.99) does not parse': [
    'comparisons/gt_literal/not_gt_double',
  ],
  'no int(uint) conversion': [
    'conversions/int/uint',
    'conversions/int/uint_zero',
    'conversions/int/uint_max_exact',
    'conversions/int/uint_range',
    'parse/nest/funcall',
  ],
  'int(double) and uint(double) out of range are not an error': [
    'conversions/int/double_int_max_range',
    'conversions/int/double_int_min_range',
    'conversions/int/double_range',
    'conversions/uint/double_uint_max_range',
  ],
  'no int(timestamp) conversion': [
    'conversions/int/timestamp',
    'timestamps/timestamp_conversions/toInt_timestamp',
  ],
  'string(bytes) with invalid UTF-8 is not an error': ['conversions/string/bytes_invalid'],
  'the type of null is named null, not null_type': [
    'conversions/type/null_type',
    'conversions/type/null_type_denotation',
  ],
  'no identity conversions timestamp(timestamp) and duration(duration)': [
    'conversions/identity/duration',
    'conversions/identity/timestamp',
  ],
  'has() takes only a chain of field selections on a variable (not on a literal or an index)': [
    'fields/map_has/has',
    'fields/map_has/has_not',
    'fields/map_has/has_empty',
  ],
  'backtick-quoted field names (m.`content-type`) do not parse': [
    'fields/quoted_map_fields/field_access_slash',
    'fields/quoted_map_fields/field_access_dash',
    'fields/quoted_map_fields/field_access_dot',
    'fields/quoted_map_fields/has_field_slash',
    'fields/quoted_map_fields/has_field_dash',
    'fields/quoted_map_fields/has_field_dot',
  ],
  'a variable declared with a dotted name (a.b.c) is not resolved': [
    'fields/qualified_identifier_resolution/qualified_ident',
    'fields/qualified_identifier_resolution/map_field_select',
    'fields/qualified_identifier_resolution/ident_with_longest_prefix_check',
  ],
  'map keys of type double or null are accepted instead of refused': [
    'fields/qualified_identifier_resolution/map_key_float',
    'fields/qualified_identifier_resolution/map_key_null',
  ],
  'a repeated key in a map literal is not an error': [
    'fields/qualified_identifier_resolution/map_value_repeat_key',
    'fields/qualified_identifier_resolution/map_value_repeat_key_heterogeneous',
  ],
  'int64 overflow when negating or dividing the minimum value is not an error': [
    'integer_math/int64_math/int64_min_negate',
    'integer_math/int64_math/int64_min_negate_div',
  ],
  'a uint list index is not accepted': ['lists/index/zero_based_uint'],
  'the type check of a comparison on the elements of an empty list literal fails (overlapping overloads)':
    ['macros/all/list_empty'],
  'int map keys become strings (JavaScript object keys), so a macro over them sees strings': [
    'macros/exists_one/map_one',
  ],
  'escape sequences are processed in raw (r"...") bytes literals': [
    'parse/bytes_literals/raw_single_quoted_escapes',
    'parse/bytes_literals/raw_double_quoted_escapes',
    'parse/bytes_literals/raw_triple_single_quoted_escapes',
    'parse/bytes_literals/raw_triple_double_quoted_escapes',
    'parse/bytes_literals/upper_raw_single_quoted_escapes',
    'parse/bytes_literals/upper_raw_double_quoted_escapes',
    'parse/bytes_literals/upper_raw_triple_single_quoted_escapes',
    'parse/bytes_literals/upper_raw_triple_double_quoted_escapes',
  ],
  'lowerAscii() and upperAscii() change non-ASCII letters too': [
    'string_ext/ascii_casing/lowerascii_unicode',
    'string_ext/ascii_casing/lowerascii_unicode_with_space',
    'string_ext/ascii_casing/upperascii_unicode',
  ],
  'trim() does not follow the Unicode White_Space set': [
    'string_ext/trim/unicode_space_chars_1',
    'string_ext/trim/unicode_no_trim',
  ],
  'no string(timestamp) or string(duration) conversion': [
    'timestamps/timestamp_conversions/toString_timestamp',
    'timestamps/timestamp_conversions/toString_timestamp_nanos',
    'timestamps/duration_conversions/toString_duration',
  ],
  'fixed UTC offsets (+11:00) are not accepted as time zones': [
    'timestamps/timestamp_selectors_tz/getDayOfMonth_numerical_pos',
    'timestamps/timestamp_selectors_tz/getDayOfMonth_numerical_neg',
    'timestamps/timestamp_selectors_tz/getFullYear',
    'timestamps/timestamp_selectors_tz/getHours',
    'timestamps/timestamp_selectors_tz/getSeconds',
  ],
  'duration + timestamp (duration on the left) is not defined': [
    'timestamps/timestamp_arithmetic/add_time_to_duration',
  ],
  'timestamps have millisecond precision (JavaScript Date), so nanoseconds are lost': [
    'timestamps/timestamp_arithmetic/add_time_to_duration_nanos_positive',
  ],
  'duration.getMilliseconds() returns the whole duration in milliseconds, not its millisecond part':
    ['timestamps/duration_converters/get_milliseconds'],
  'timestamps and durations outside the range CEL allows (years 1-9999, about +-10,000 years) are not an error':
    [
      'timestamps/timestamp_range/add_duration_under',
      'timestamps/timestamp_range/add_duration_over',
      'timestamps/timestamp_range/add_duration_nanos_over',
      'timestamps/timestamp_range/add_duration_nanos_under',
      'timestamps/timestamp_range/sub_time_duration_over',
      'timestamps/timestamp_range/sub_time_duration_under',
      'timestamps/duration_range/from_string_under',
      'timestamps/duration_range/from_string_over',
      'timestamps/duration_range/add_under',
      'timestamps/duration_range/add_over',
      'timestamps/duration_range/sub_under',
      'timestamps/duration_range/sub_over',
    ],
};

/** Per file: cases, passes, known failures, not applicable. Update the README with the table. */
const REPORTED: Record<string, FileSummary> = {
  basic: { cases: 43, pass: 38, known: 1, notApplicable: 4 },
  bindings_ext: { cases: 8, pass: 6, known: 0, notApplicable: 2 },
  comparisons: { cases: 406, pass: 292, known: 21, notApplicable: 93 },
  conversions: { cases: 109, pass: 94, known: 14, notApplicable: 1 },
  fields: { cases: 60, pass: 41, known: 16, notApplicable: 3 },
  fp_math: { cases: 30, pass: 29, known: 0, notApplicable: 1 },
  integer_math: { cases: 64, pass: 59, known: 2, notApplicable: 3 },
  lists: { cases: 39, pass: 34, known: 5, notApplicable: 0 },
  logic: { cases: 30, pass: 21, known: 0, notApplicable: 9 },
  macros: { cases: 44, pass: 42, known: 2, notApplicable: 0 },
  macros2: { cases: 46, pass: 0, known: 0, notApplicable: 46 },
  parse: { cases: 219, pass: 167, known: 9, notApplicable: 43 },
  plumbing: { cases: 5, pass: 5, known: 0, notApplicable: 0 },
  string: { cases: 51, pass: 51, known: 0, notApplicable: 0 },
  string_ext: { cases: 216, pass: 56, known: 5, notApplicable: 155 },
  timestamps: { cases: 78, pass: 54, known: 24, notApplicable: 0 },
};

interface Outcome {
  id: string;
  expr: string;
  result: CaseResult;
}

function runFile(file: string): Outcome[] {
  const text = readFileSync(new URL(`./testdata/${file}.textproto`, import.meta.url), 'utf8');
  const outcomes: Outcome[] = [];
  for (const section of fieldsOf(parseTextproto(text), 'section') as TextMessage[]) {
    const sectionId = `${file}/${stringField(section, 'name')}`;
    for (const test of fieldsOf(section, 'test') as TextMessage[]) {
      const id = `${sectionId}/${stringField(test, 'name')}`;
      outcomes.push({
        id,
        expr: stringField(test, 'expr') ?? '',
        result: runCase(test, { notOffered: NOT_OFFERED[id] ?? NOT_OFFERED[sectionId] }),
      });
    }
  }
  return outcomes;
}

const known = new Map(
  Object.entries(KNOWN_FAILURES).flatMap(([reason, ids]) => ids.map((id) => [id, reason])),
);
const results = new Map(FILES.map((file) => [file, runFile(file)]));

interface FileSummary {
  cases: number;
  pass: number;
  known: number;
  notApplicable: number;
}

function summarize(outcomes: Outcome[]): FileSummary {
  const count = (status: CaseResult['status']) =>
    outcomes.filter((o) => o.result.status === status).length;
  return {
    cases: outcomes.length,
    pass: count('pass'),
    known: count('fail'),
    notApplicable: count('n/a'),
  };
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)} %`;

/** The table README.md and docs/policy-language.md show (pass rate of the applicable cases). */
function table(): string {
  const rows = [...results].map(([file, outcomes]) => ({ file, ...summarize(outcomes) }));
  const total = rows.reduce(
    (sum, row) => ({
      file: '**total**',
      cases: sum.cases + row.cases,
      pass: sum.pass + row.pass,
      known: sum.known + row.known,
      notApplicable: sum.notApplicable + row.notApplicable,
    }),
    { file: '**total**', cases: 0, pass: 0, known: 0, notApplicable: 0 },
  );
  const line = (row: typeof total) =>
    `| ${row.file} | ${row.cases} | ${row.notApplicable} | ${row.pass} / ${row.pass + row.known} | ${percent(row.pass, row.pass + row.known)} |`;
  const reasons = new Map<string, number>();
  for (const outcomes of results.values())
    for (const { result } of outcomes)
      if (result.status === 'n/a')
        reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
  return [
    '| file | cases | not applicable | pass / applicable | pass rate |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(line),
    line(total),
    '',
    `Not applicable: ${[...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ')}.`,
  ].join('\n');
}

afterAll(() => {
  console.info(`cel-spec conformance through Stepgate's CEL setup:\n${table()}`);
});

describe("Stepgate's own functions under CEL's rules", () => {
  const text = readFileSync(new URL('../stepgate/functions.textproto', import.meta.url), 'utf8');
  const cases = (fieldsOf(parseTextproto(text), 'section') as TextMessage[]).flatMap((section) =>
    (fieldsOf(section, 'test') as TextMessage[]).map((test): [string, TextMessage] => [
      `${stringField(section, 'name')}/${stringField(test, 'name')}`,
      test,
    ]),
  );

  it.each(cases)('%s', (_id, test) => {
    expect(runCase(test, { matchMessages: true })).toEqual({ status: 'pass' });
  });
});

describe('cel-spec conformance', () => {
  it.each(FILES)('%s: every case passes, is a known failure, or does not apply', (file) => {
    const outcomes = results.get(file) ?? [];
    const unexpected = outcomes
      .filter((o) => o.result.status === 'fail' && !known.has(o.id))
      .map((o) => `${o.id}: ${o.result.status === 'fail' ? o.result.detail : ''}`);
    const nowPassing = outcomes
      .filter((o) => o.result.status !== 'fail' && known.has(o.id))
      .map((o) => `${o.id} (${o.result.status}; listed as: ${known.get(o.id)})`);
    expect(unexpected).toEqual([]);
    expect(nowPassing).toEqual([]);
  });

  it('lists only cases that exist in the vendored files', () => {
    const ids = new Set([...results.values()].flat().map((o) => o.id));
    expect([...known.keys()].filter((id) => !ids.has(id))).toEqual([]);
  });

  it('has the pass rates README.md and docs/policy-language.md report', () => {
    const summaries = Object.fromEntries(
      [...results].map(([file, outcomes]) => [file, summarize(outcomes)]),
    );
    expect(summaries).toEqual(REPORTED);
  });
});
