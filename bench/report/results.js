// Files under bench/results: <date>.json (the run), <date>.md (the report), <date>-<chart>.svg,
// and baseline.json (a copy of the run chosen as the reference for the regression check).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from './markdown.js';
import { collectRatios } from './regression.js';
import { renderBarChart } from './svg.js';

export const BASELINE_FILE = 'baseline.json';

/** File name of a chart's SVG, relative to the results directory. */
export const chartFile = (name, chart) => `${name}-${chart.id}.svg`;

/**
 * Writes the run's JSON, Markdown and charts as `<date><suffix>.*`; returns the paths written.
 * @param {string} dir
 * @param {object} result
 * @param {string} [comparison]  the regression table, as Markdown
 * @param {string} [suffix]      e.g. "-run2" for one of several runs towards a baseline
 */
export function writeResults(dir, result, comparison, suffix = '') {
  mkdirSync(dir, { recursive: true });
  const name = `${result.date}${suffix}`;
  // A second run on the same day replaces the first: drop its charts, whose ids may differ
  // (only its own: <date>-run2-*.svg is not <date>'s to drop).
  const ownChart = new RegExp(`^${name}-(?!run\\d)[^/]*\\.svg$`);
  for (const file of readdirSync(dir)) if (ownChart.test(file)) rmSync(join(dir, file));
  const written = [];
  const write = (file, text) => {
    writeFileSync(join(dir, file), text);
    written.push(join(dir, file));
  };
  write(`${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  for (const section of result.sections)
    for (const chart of section.charts ?? []) write(chartFile(name, chart), renderBarChart(chart));
  write(
    `${name}.md`,
    renderReport(result, { name, chartPath: (chart) => chartFile(name, chart), comparison }),
  );
  return written;
}

/** bench/results/baseline.json := this run. */
export function writeBaseline(dir, result) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, BASELINE_FILE);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/**
 * The baseline's ratios and a label for it; undefined when there is no baseline yet.
 * @param {string} dir
 */
export function readBaseline(dir) {
  const path = join(dir, BASELINE_FILE);
  if (!existsSync(path)) return undefined;
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `${path} is not valid JSON (${error.message}); rewrite it with --update-baseline`,
    );
  }
  if (!Array.isArray(parsed?.sections))
    throw new Error(`${path} has no "sections" array; rewrite it with --update-baseline`);
  const sectionsByPart = Array.isArray(parsed.parts)
    ? Object.fromEntries(parsed.parts.map((part) => [part.name, part.sections ?? []]))
    : undefined;
  return {
    ratios: collectRatios(parsed.sections),
    sectionsByPart,
    label: `the baseline of ${parsed.date ?? 'unknown date'} (bench/results/${BASELINE_FILE}${parsed.machine?.gitSha ? `, git ${parsed.machine.gitSha.slice(0, 10)}` : ''})`,
  };
}
