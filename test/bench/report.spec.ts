import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { markdownTable } from '../../bench/report/format.js';
import { renderComparison, renderReport, renderSection } from '../../bench/report/markdown.js';
import { combineRuns, median, planBaseline } from '../../bench/report/median.js';
import { parseOptions, UsageError } from '../../bench/report/options.js';
import { collectRatios, compareRatios } from '../../bench/report/regression.js';
import { readBaseline, writeBaseline, writeResults } from '../../bench/report/results.js';
import { renderBarChart } from '../../bench/report/svg.js';
import { sectionProblems } from '../../bench/report/validate.js';

type Better = 'higher' | 'lower';
const ratio = (value: number, better: Better = 'higher', description = 'a / b') => ({
  value,
  better,
  description,
});

const section = () => ({
  id: 'peers-engine',
  title: 'Stepgate vs Cedar, in-process',
  tables: [
    {
      title: 'Decisions',
      columns: ['engine', 'decisions/s', 'p99 µs'],
      rows: [
        ['Stepgate', 150_000, 21.5],
        ['Cedar | wasm', 12_000, 310],
      ],
    },
  ],
  ratios: { speedup: ratio(12.5, 'higher', 'Stepgate / Cedar decisions/s') },
  metrics: { stepgateDecisionsPerSecond: 150_000 },
  charts: [
    {
      id: 'peers-throughput',
      title: 'Decisions per second',
      unit: 'decisions/s',
      bars: [
        { label: 'Stepgate', value: 150_000 },
        { label: 'Cedar <wasm> & co', value: 75_000 },
      ],
    },
  ],
  notes: ['Same 200 rules in both engines.'],
});

const machine = {
  cpuModel: 'AMD EPYC',
  cpuCount: 2,
  memoryGiB: 24,
  node: 'v20.20.2',
  os: 'Linux 6.1 x64',
  gitSha: '0123456789abcdef',
  gitDirty: false,
  loadAverage: [0.1, 0.2, 0.3],
};

describe('regression check', () => {
  const verdict = (value: number, base: number, better: Better) =>
    compareRatios({ 'a.r': ratio(value, better) }, { 'a.r': ratio(base, better) });

  it('fails a higher-is-better ratio 31 % below its baseline and passes one 29 % below', () => {
    const worse31 = verdict(0.69, 1, 'higher');
    expect(worse31.rows[0]!.verdict).toBe('regressed');
    expect(worse31.failed).toBe(true);
    expect(worse31.regressions).toEqual(['a.r']);
    const worse29 = verdict(7.1, 10, 'higher');
    expect(worse29.rows[0]!.verdict).toBe('ok');
    expect(worse29.failed).toBe(false);
  });

  it('reports a ratio marked checked: false without ever failing on it', () => {
    const noisy = compareRatios(
      { 'a.r': { ...ratio(2, 'lower'), checked: false } },
      { 'a.r': ratio(1, 'lower') },
    );
    expect(noisy.rows[0]!.verdict).toBe('not checked');
    expect(noisy.rows[0]!.change).toBeCloseTo(1);
    expect(noisy.failed).toBe(false);
  });

  it('fails a lower-is-better ratio 31 % above its baseline and passes one 29 % above', () => {
    expect(verdict(1.31, 1, 'lower').failed).toBe(true);
    expect(verdict(13.1, 10, 'lower').rows[0]!.verdict).toBe('regressed');
    expect(verdict(1.29, 1, 'lower').failed).toBe(false);
    expect(verdict(12.9, 10, 'lower').rows[0]!.verdict).toBe('ok');
  });

  it('treats exactly 30 % worse as within the limit despite float rounding', () => {
    expect(verdict(0.7, 1, 'higher').failed).toBe(false);
    expect(verdict(1.3, 1, 'lower').failed).toBe(false);
  });

  it('never fails on a change in the good direction, however large', () => {
    const faster = verdict(3, 1, 'higher');
    expect(faster.rows[0]!.verdict).toBe('improved');
    expect(faster.failed).toBe(false);
    expect(verdict(0.2, 1, 'lower').rows[0]!.verdict).toBe('improved');
    expect(verdict(1.1, 1, 'lower').rows[0]!.verdict).toBe('ok');
  });

  it('reports the change as a signed fraction of the baseline', () => {
    expect(verdict(0.69, 1, 'higher').rows[0]!.change).toBeCloseTo(-0.31, 10);
    expect(verdict(1.31, 1, 'lower').rows[0]!.change).toBeCloseTo(0.31, 10);
  });

  it('lists a ratio the baseline lacks as new and one this run lacks as not measured, failing neither', () => {
    const result = compareRatios(
      { 'a.kept': ratio(1), 'b.added': ratio(0.01, 'lower') },
      { 'a.kept': ratio(1), 'c.dropped': ratio(5) },
    );
    expect(result.failed).toBe(false);
    expect(Object.fromEntries(result.rows.map((r) => [r.key, r.verdict]))).toEqual({
      'a.kept': 'ok',
      'b.added': 'new',
      'c.dropped': 'not measured',
    });
    const dropped = result.rows.find((r) => r.key === 'c.dropped')!;
    expect(dropped.baseline).toBe(5);
    expect(dropped.value).toBeUndefined();
  });

  it('passes with every ratio new when there is no baseline at all', () => {
    const result = compareRatios({ 'a.r': ratio(0.01), 'a.s': ratio(9, 'lower') }, undefined);
    expect(result.failed).toBe(false);
    expect(result.rows.map((r) => r.verdict)).toEqual(['new', 'new']);
  });

  it('does not compare a ratio whose direction changed or whose baseline is 0', () => {
    const result = compareRatios(
      { 'a.flipped': ratio(0.1, 'lower'), 'a.zero': ratio(0.1) },
      { 'a.flipped': ratio(10, 'higher'), 'a.zero': ratio(0) },
    );
    expect(result.failed).toBe(false);
    expect(result.rows.map((r) => r.verdict)).toEqual(['incomparable', 'incomparable']);
  });

  it('keys ratios by section id', () => {
    expect(Object.keys(collectRatios([section(), { ...section(), id: 'engine' }]))).toEqual([
      'peers-engine.speedup',
      'engine.speedup',
    ]);
  });

  it('renders the comparison table with baseline, change % and verdict', () => {
    const text = renderComparison(
      compareRatios(
        { 'a.slow': ratio(0.69), 'a.new': ratio(2) },
        { 'a.slow': ratio(1), 'b.gone': ratio(4, 'lower') },
      ),
      { baselineLabel: 'the baseline of 2026-11-23', threshold: 0.3 },
    );
    expect(text).toContain('the baseline of 2026-11-23');
    expect(text).toMatch(
      /\| a\.slow +\| higher +\| 0\.690x +\| 1\.00x +\| -31\.0 % +\| \*\*REGRESSED\*\* +\|/,
    );
    expect(text).toMatch(/\| a\.new .*\| 2\.00x +\| - +\| - +\| new \(not in baseline\) +\|/);
    expect(text).toMatch(/\| b\.gone .*\| - +\| 4\.00x +\| - +\| not measured in this run +\|/);
  });
});

describe('Markdown writer', () => {
  it('pads columns, right-aligns numeric ones and escapes pipes', () => {
    const text = markdownTable(
      ['name', 'n'],
      [
        ['a|b', 1234567],
        ['c', 2.5],
      ],
    );
    expect(text.split('\n')).toEqual([
      '| name |         n |',
      '| ---- | --------: |',
      '| a\\|b | 1,234,567 |',
      '| c    |      2.50 |',
    ]);
  });

  it('renders a section: tables, ratios with their full key, charts when given a path, notes', () => {
    const text = renderSection(section(), { chartPath: (chart) => `2026-11-29-${chart.id}.svg` });
    expect(text).toContain('## Stepgate vs Cedar, in-process');
    expect(text).toContain('**Decisions**');
    expect(text).toMatch(/\| Stepgate +\| +150,000 \| +21\.5 \|/);
    expect(text).toMatch(
      /\| peers-engine\.speedup \| 12\.5x +\| higher \| Stepgate \/ Cedar decisions\/s \|/,
    );
    expect(text).toContain(
      '![Decisions per second (decisions/s)](2026-11-29-peers-throughput.svg)',
    );
    expect(text).toContain('- Same 200 rules in both engines.');
    expect(renderSection(section())).not.toContain('![');
  });

  it('renders the report with date, machine, timings and the comparison', () => {
    const text = renderReport(
      {
        date: '2026-11-29',
        command: 'node bench/run.js',
        quick: false,
        machine,
        totalSeconds: 412.3,
        parts: [
          { name: 'engine', status: 'ok', seconds: 12, budgetSeconds: 45 },
          { name: 'scale', status: 'absent', seconds: 0, budgetSeconds: 150 },
        ],
        sections: [section()],
      },
      { chartPath: (chart) => `2026-11-29-${chart.id}.svg`, comparison: 'COMPARISON TABLE' },
    );
    expect(text).toMatch(/^# Stepgate benchmarks, 2026-11-29\n/);
    expect(text).toContain(
      '- Machine: 2 × AMD EPYC, 24 GiB RAM, Node v20.20.2, Linux 6.1 x64, git 0123456789',
    );
    expect(text).toContain('(full run), 412.3 s in total');
    expect(text).toMatch(/\| engine +\| ok +\| 12\.0 s +\| 45\.0 s +\|/);
    expect(text).toMatch(/\| scale +\| not written yet +\| - +\| 150\.0 s +\|/);
    expect(text).toMatch(/\| total +\| +\| 412\.3 s +\| 195\.0 s +\|/);
    expect(text).toContain('## Regression check\n\nCOMPARISON TABLE');
  });
});

describe('SVG bar chart writer', () => {
  const chart = section().charts[0]!;
  const svg = renderBarChart(chart);

  it('draws one bar per value, scaled to the largest', () => {
    const widths = [
      ...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="18"/g),
    ].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(widths[0]).toBeGreaterThan(0);
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.5, 2);
  });

  it('labels every bar with its name and value and escapes XML', () => {
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
    expect(svg).toContain('>Stepgate</text>');
    expect(svg).toContain('>150,000 decisions/s</text>');
    expect(svg).toContain('>Cedar &lt;wasm&gt; &amp; co</text>');
    expect(svg).not.toContain('<wasm>');
    expect(svg).toContain('>Decisions per second (decisions/s)</text>');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('keeps a tiny non-zero value visible and draws nothing for zero', () => {
    const tiny = renderBarChart({
      id: 'x',
      title: 't',
      unit: 'ms',
      bars: [
        { label: 'big', value: 1e9 },
        { label: 'tiny', value: 1 },
        { label: 'none', value: 0 },
      ],
    });
    const widths = [...tiny.matchAll(/height="18" rx="2"/g)].length;
    expect(widths).toBe(3);
    expect(tiny).toMatch(/width="1\.0" height="18"/);
    expect(tiny).toMatch(/width="0\.0" height="18"/);
  });
});

describe('results files', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <date>.json, <date>.md embedding <date>-<chart>.svg, and drops that date’s stale charts', () => {
    dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-report-'));
    writeFileSync(join(dir, '2026-11-29-old-chart.svg'), '<svg/>');
    writeFileSync(join(dir, '2026-11-28-other-day.svg'), '<svg/>');
    const result = {
      date: '2026-11-29',
      command: 'node bench/run.js',
      quick: false,
      machine,
      totalSeconds: 1,
      parts: [
        { name: 'peers', status: 'ok', seconds: 1, budgetSeconds: 2, sections: ['peers-engine'] },
      ],
      sections: [section()],
    };
    writeResults(dir, result, 'CMP');
    expect(readdirSync(dir).sort()).toEqual([
      '2026-11-28-other-day.svg',
      '2026-11-29-peers-throughput.svg',
      '2026-11-29.json',
      '2026-11-29.md',
    ]);
    expect(JSON.parse(readFileSync(join(dir, '2026-11-29.json'), 'utf8'))).toEqual(result);
    expect(readFileSync(join(dir, '2026-11-29.md'), 'utf8')).toContain(
      '](2026-11-29-peers-throughput.svg)',
    );

    expect(readBaseline(dir)).toBeUndefined();
    writeBaseline(dir, result);
    const baseline = readBaseline(dir)!;
    expect(baseline.ratios['peers-engine.speedup']!.value).toBe(12.5);
    expect(baseline.sectionsByPart).toEqual({ peers: ['peers-engine'] });
    expect(baseline.label).toContain('2026-11-29');
  });

  it('writes one of several runs as <date>-run<i>.* without touching the median files of that date', () => {
    dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-report-'));
    const result = {
      date: '2026-11-29',
      command: 'node bench/run.js --update-baseline --runs 3',
      quick: false,
      machine,
      totalSeconds: 1,
      parts: [],
      sections: [section()],
    };
    writeResults(dir, result, undefined, '-run1');
    writeResults(dir, result, undefined, '-run2');
    writeResults(dir, result);
    // The median's own rewrite keeps every run's chart.
    writeResults(dir, result);
    expect(readdirSync(dir).sort()).toEqual([
      '2026-11-29-peers-throughput.svg',
      '2026-11-29-run1-peers-throughput.svg',
      '2026-11-29-run1.json',
      '2026-11-29-run1.md',
      '2026-11-29-run2-peers-throughput.svg',
      '2026-11-29-run2.json',
      '2026-11-29-run2.md',
      '2026-11-29.json',
      '2026-11-29.md',
    ]);
    expect(readFileSync(join(dir, '2026-11-29-run2.md'), 'utf8')).toContain(
      '[2026-11-29-run2.json](2026-11-29-run2.json)',
    );
  });

  it('refuses an unreadable baseline with the command that rewrites it', () => {
    dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-report-'));
    writeFileSync(join(dir, 'baseline.json'), '{ not json');
    expect(() => readBaseline(dir)).toThrow(/not valid JSON.*--update-baseline/);
    writeFileSync(join(dir, 'baseline.json'), '{}');
    expect(() => readBaseline(dir)).toThrow(/no "sections" array/);
  });
});

describe('section contract check', () => {
  it('accepts a well-formed section', () => {
    expect(sectionProblems([section()], 'peers')).toEqual([]);
  });

  it('names the part, section and field that is wrong', () => {
    const bad = section() as Record<string, unknown>;
    bad.ratios = { speedup: { value: Number.NaN, better: 'up', description: '' } };
    bad.charts = [{ id: 'Bad Id', title: 't', unit: 'u', bars: [] }];
    const problems = sectionProblems([bad], 'peers');
    expect(problems).toContain(
      'peers: section "peers-engine" ratio "speedup" value must be a finite number >= 0 (got NaN)',
    );
    expect(problems).toContain(
      'peers: section "peers-engine" ratio "speedup" better must be "higher" or "lower"',
    );
    expect(problems.some((p) => p.includes('chart #0 id must be lower-case'))).toBe(true);
    expect(problems.some((p) => p.includes('chart #0 needs at least one bar'))).toBe(true);
    expect(sectionProblems([], 'x')[0]).toMatch(/non-empty array/);
  });
});

describe('baseline from several runs', () => {
  const run = (speedup: number, rps: number, extra: Record<string, number> = {}) => ({
    date: '2026-11-29',
    startedAt: `2026-11-29T0${speedup}:00:00.000Z`,
    command: 'node bench/run.js --update-baseline --runs 3',
    quick: false,
    machine: { ...machine, busyBefore: 0.02 },
    totalSeconds: 600,
    parts: [],
    sections: [
      {
        ...section(),
        ratios: { speedup: ratio(speedup, 'higher', 'Stepgate / Cedar decisions/s') },
        metrics: { stepgateDecisionsPerSecond: rps, ...extra },
      },
    ],
  });

  it('takes the median of an odd and an even number of values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([10, 1, 4, 6])).toBe(5);
    expect(median([7])).toBe(7);
  });

  it('keeps the median of every ratio and metric with each run’s value, and the baseline reads the median', () => {
    const combined = combineRuns([run(9, 100), run(14, 300), run(12, 200, { only: 5 })]);
    const [combinedSection] = combined.sections;
    expect(combinedSection.ratios.speedup).toMatchObject({
      value: 12,
      better: 'higher',
      spread: { min: 9, max: 14, values: [9, 14, 12] },
    });
    expect(combinedSection.metrics).toEqual({ stepgateDecisionsPerSecond: 200 });
    expect(combinedSection.metricSpread.stepgateDecisionsPerSecond).toEqual({
      min: 100,
      max: 300,
      values: [100, 300, 200],
    });
    expect(combined.runs.map((r: { startedAt: string }) => r.startedAt)).toEqual([
      '2026-11-29T09:00:00.000Z',
      '2026-11-29T014:00:00.000Z',
      '2026-11-29T012:00:00.000Z',
    ]);
    expect(combined.totalSeconds).toBe(1800);

    const text = renderReport(combined, { chartPath: () => 'x.svg' });
    expect(text).toContain('Median of 3 full runs');
    expect(text).toContain('| peers-engine.speedup | 12.0x  | 9.00x, 14.0x, 12.0x');
    expect(text).toMatch(
      /\| peers-engine\.stepgateDecisionsPerSecond +\| 200 +\| 100 +\| 300 +\| 100, 300, 200 +\|/,
    );

    dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-report-'));
    writeBaseline(dir, combined);
    expect(readBaseline(dir)!.ratios['peers-engine.speedup']!.value).toBe(12);
  });

  it('combines earlier runs where a part failed in one: left out of that run, refused when it passed nowhere', () => {
    const withParts = (statuses: Record<string, string>, speedup: number) => ({
      ...run(speedup, 100),
      parts: Object.entries(statuses).map(([name, status]) => ({ name, status })),
    });
    const partial = withParts({ peers: 'ok', console: 'failed' }, 9);
    const complete = withParts({ peers: 'ok', console: 'ok' }, 12);
    const plan = planBaseline([partial, complete], ['r1.json', 'r2.json'], ['peers', 'console']);
    expect(plan.error).toBeUndefined();
    expect(plan.notes).toEqual(['r1.json: console did not pass; left out of their medians']);
    // The complete run is the template, first.
    expect(plan.runs).toEqual([complete, partial]);

    const refused = planBaseline([partial, partial], ['a', 'b'], ['peers', 'console']);
    expect(refused.error).toBe('console passed in none of the runs');
  });

  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
});

describe('bench/run.js options', () => {
  const parts = ['engine', 'peers', 'agents', 'scale', 'ingest'];

  it('selects parts in run order whatever order they were named in', () => {
    const options = parseOptions(['--quick', '--only', 'scale, engine'], parts);
    expect(options).toMatchObject({ quick: true, parts: ['engine', 'scale'], partial: true });
    expect(parseOptions([], parts)).toMatchObject({ quick: false, parts, partial: false });
  });

  it('rejects unknown parts and options, and a quick or partial baseline', () => {
    expect(() => parseOptions(['--only', 'engine,opa'], parts)).toThrow(
      /unknown part opa; the parts are engine, peers, agents, scale, ingest/,
    );
    expect(() => parseOptions(['--fast'], parts)).toThrow(UsageError);
    expect(() => parseOptions(['--quick', '--update-baseline'], parts)).toThrow(
      /full run of every part/,
    );
    expect(() => parseOptions(['--only', 'engine', '--update-baseline'], parts)).toThrow(
      UsageError,
    );
  });

  it('takes --from files only with --update-baseline and without --runs', () => {
    expect(parseOptions(['--update-baseline', '--from', 'a.json, b.json,'], parts).from).toEqual([
      'a.json',
      'b.json',
    ]);
    expect(() => parseOptions(['--from', 'a.json'], parts)).toThrow(/with --update-baseline/);
    expect(() =>
      parseOptions(['--update-baseline', '--runs', '3', '--from', 'a.json'], parts),
    ).toThrow(/without --runs/);
    expect(() => parseOptions(['--update-baseline', '--from', ' , '], parts)).toThrow(
      /names no file/,
    );
  });

  it('takes --runs N only with --update-baseline, N from 1 to 9', () => {
    expect(parseOptions([], parts).runs).toBe(1);
    expect(parseOptions(['--update-baseline', '--runs', '3'], parts).runs).toBe(3);
    expect(() => parseOptions(['--runs', '3'], parts)).toThrow(/add --update-baseline/);
    for (const bad of ['0', '10', '2.5', 'three', '1e0'])
      expect(() => parseOptions(['--update-baseline', '--runs', bad], parts)).toThrow(
        /whole number of runs from 1 to 9/,
      );
  });
});
