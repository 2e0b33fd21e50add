// Files under bench/results: <date>.json (the run), <date>.md (the report), <date>-<chart>.svg,
// and baseline.json (a copy of the run chosen as the reference for the regression check).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from './markdown.js';
import { collectRatios } from './regression.js';
import { renderBarChart } from './svg.js';

export const BASELINE_FILE = 'baseline.json';

/** File name of a chart's SVG, relative to the results directory. */
export const chartFile = (date, chart) => `${date}-${chart.id}.svg`;

/**
 * Writes the run's JSON, Markdown and charts; returns the paths written.
 * @param {string} dir
 * @param {object} result
 * @param {string} [comparison]  the regression table, as Markdown
 */
export function writeResults(dir, result, comparison) {
  mkdirSync(dir, { recursive: true });
  // A second run on the same day replaces the first: drop its charts, whose ids may differ.
  for (const name of readdirSync(dir))
    if (name.startsWith(`${result.date}-`) && name.endsWith('.svg')) rmSync(join(dir, name));
  const written = [];
  const write = (name, text) => {
    writeFileSync(join(dir, name), text);
    written.push(join(dir, name));
  };
  write(`${result.date}.json`, `${JSON.stringify(result, null, 2)}\n`);
  for (const section of result.sections)
    for (const chart of section.charts ?? [])
      write(chartFile(result.date, chart), renderBarChart(chart));
  write(
    `${result.date}.md`,
    renderReport(result, { chartPath: (chart) => chartFile(result.date, chart), comparison }),
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
