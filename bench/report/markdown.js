// Markdown for a bench run: the same section text is printed to the console as each part ends
// and written to bench/results/<date>.md (there with the SVG charts embedded).

import {
  formatNumber,
  formatPercent,
  formatRatio,
  formatSeconds,
  markdownTable,
} from './format.js';

/** One line naming the machine, for headers and the README. */
export function describeMachine(machine) {
  const memory = `${formatNumber(machine.memoryGiB)} GiB`;
  const git = machine.gitSha
    ? `, git ${machine.gitSha.slice(0, 10)}${machine.gitDirty ? ' (uncommitted changes)' : ''}`
    : '';
  return `${machine.cpuCount} × ${machine.cpuModel}, ${memory} RAM, Node ${machine.node}, ${machine.os}${git}`;
}

/**
 * @param {import('./section.js').BenchSection} section
 * @param {{ chartPath?: (chart: import('./section.js').BenchChart) => string, heading?: string }} [options]
 *   chartPath: where the chart's SVG is, relative to the Markdown file; without it charts are left out
 */
export function renderSection(section, options = {}) {
  const heading = options.heading ?? '##';
  const out = [`${heading} ${section.title}`, ''];
  for (const table of section.tables)
    out.push(`**${table.title}**`, '', markdownTable(table.columns, table.rows), '');
  const ratios = Object.entries(section.ratios);
  if (ratios.length) {
    out.push(
      '**Ratios** (checked against the baseline)',
      '',
      // A baseline combined from several runs shows each ratio's median and its range.
      ratios.some(([, r]) => r.spread)
        ? markdownTable(
            ['ratio', 'median', 'runs (lowest – highest)', 'better', 'what'],
            ratios.map(([key, r]) => [
              `${section.id}.${key}`,
              formatRatio(r.value),
              r.spread ? r.spread.values.map(formatRatio).join(', ') : '-',
              r.better,
              r.description,
            ]),
          )
        : markdownTable(
            ['ratio', 'value', 'better', 'what'],
            ratios.map(([key, r]) => [
              `${section.id}.${key}`,
              formatRatio(r.value),
              r.better,
              r.description,
            ]),
          ),
      '',
    );
  }
  if (options.chartPath)
    for (const chart of section.charts ?? [])
      out.push(`![${chart.title} (${chart.unit})](${options.chartPath(chart)})`, '');
  if (section.notes?.length) out.push(...section.notes.map((note) => `- ${note}`), '');
  return out.join('\n');
}

const VERDICTS = {
  ok: 'ok',
  improved: 'improved',
  regressed: '**REGRESSED**',
  new: 'new (not in baseline)',
  'not measured': 'not measured in this run',
  incomparable: 'incomparable (baseline 0 or direction changed)',
  'not checked': 'reported, not checked (too noisy)',
};

/** The regression table: ratio, baseline, change %, verdict. */
export function renderComparison(comparison, { baselineLabel, threshold }) {
  const out = [
    `Ratios compared with ${baselineLabel}; a ratio more than ${Math.round(threshold * 100)} % worse than its baseline fails the run.`,
    '',
  ];
  if (comparison.rows.length === 0) return [...out, 'No ratios to compare.', ''].join('\n');
  out.push(
    markdownTable(
      ['ratio', 'better', 'this run', 'baseline', 'change', 'verdict'],
      comparison.rows.map((row) => [
        row.key,
        row.better,
        row.value === undefined ? '-' : formatRatio(row.value),
        row.baseline === undefined ? '-' : formatRatio(row.baseline),
        row.change === undefined ? '-' : formatPercent(row.change),
        VERDICTS[row.verdict],
      ]),
    ),
    '',
  );
  return out.join('\n');
}

const STATUS = {
  ok: 'ok',
  failed: '**FAILED**',
  overran: '**OVER BUDGET**',
  absent: 'not written yet',
};

/** Elapsed time per part and in total, against the budgets. */
export function renderTimings(parts, totalSeconds) {
  return [
    markdownTable(
      ['part', 'status', 'elapsed', 'budget'],
      [
        ...parts.map((p) => [
          p.name,
          STATUS[p.status] + (p.error ? `: ${p.error.split('\n')[0]}` : ''),
          p.status === 'absent' ? '-' : formatSeconds(p.seconds),
          formatSeconds(p.budgetSeconds),
        ]),
        [
          'total',
          '',
          formatSeconds(totalSeconds),
          formatSeconds(parts.reduce((n, p) => n + p.budgetSeconds, 0)),
        ],
      ],
    ),
    '',
  ].join('\n');
}

/**
 * The whole report file.
 * @param {object} result   the run as written to <date>.json
 * @param {{ chartPath: (chart: import('./section.js').BenchChart) => string, comparison?: string, name?: string }} options  name: the files' base name (default the date)
 */
export function renderReport(result, options) {
  const out = [
    `# Stepgate benchmarks, ${result.date}`,
    '',
    `- Machine: ${describeMachine(result.machine)}`,
    `- Load average at start (1/5/15 min): ${result.machine.loadAverage.map((l) => l.toFixed(2)).join(' / ')}${Number.isFinite(result.machine.busyBefore) ? `; CPUs busy with other processes just before: ${Math.round(result.machine.busyBefore * 100)} %` : ''}`,
    `- Command: \`${result.command}\` (${result.quick ? 'quick mode' : 'full run'}), ${formatSeconds(result.totalSeconds)} in total`,
    `- Raw figures: [${options.name ?? result.date}.json](${options.name ?? result.date}.json)`,
    '',
    'Everything (PostgreSQL, Redis, control plane, agents, load generators, peer engines) shares this one machine, so absolute figures are pessimistic; the ratios are what the regression check compares.',
    '',
  ];
  if (result.runs) out.push(renderRuns(result));
  for (const section of result.sections)
    out.push(renderSection(section, { chartPath: options.chartPath }));
  if (result.runs) out.push(renderMetricSpread(result));
  out.push('## Time per part', '', renderTimings(result.parts, result.totalSeconds));
  if (options.comparison) out.push('## Regression check', '', options.comparison);
  return `${out.join('\n').trimEnd()}\n`;
}

/** The runs a combined baseline was made of: when, how loaded, how long. */
function renderRuns(result) {
  return [
    `Median of ${result.runs.length} full runs (tables, charts and notes below are the first run's; ratios and the metrics at the end are the medians, with every run's value):`,
    '',
    markdownTable(
      [
        'run',
        'started',
        'load average (1/5/15 min)',
        'CPUs busy before',
        'elapsed',
        'parts left out',
      ],
      result.runs.map((run, index) => [
        index + 1,
        run.startedAt,
        run.loadAverage.map((l) => l.toFixed(2)).join(' / '),
        Number.isFinite(run.busyBefore) ? `${Math.round(run.busyBefore * 100)} %` : '-',
        formatSeconds(run.totalSeconds),
        run.failedParts?.length ? `${run.failedParts.join(', ')} (did not pass)` : '-',
      ]),
    ),
    '',
  ].join('\n');
}

/** Every metric's median and the runs' values: the spread the README quotes. */
function renderMetricSpread(result) {
  const rows = [];
  for (const section of result.sections)
    for (const [key, spread] of Object.entries(section.metricSpread ?? {}))
      rows.push([
        `${section.id}.${key}`,
        formatNumber(section.metrics[key]),
        formatNumber(spread.min),
        formatNumber(spread.max),
        spread.values.map(formatNumber).join(', '),
      ]);
  if (!rows.length) return '';
  return [
    '## Metrics: median and spread over the runs',
    '',
    markdownTable(['metric', 'median', 'lowest', 'highest', 'runs'], rows),
    '',
  ].join('\n');
}
