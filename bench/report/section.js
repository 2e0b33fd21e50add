// The one shape every benchmark part returns to the orchestrator (bench/run.js), which prints
// the tables, writes bench/results/<date>.json + .md + SVG charts, and compares ratios with
// the committed baseline. Plain JSDoc types: bench scripts are plain Node ESM, not compiled.

/**
 * @typedef {object} BenchTable
 * @property {string} title
 * @property {string[]} columns
 * @property {(string | number)[][]} rows
 */

/**
 * A machine-independent comparison, e.g. Stepgate decisions/s ÷ Cedar decisions/s. The
 * regression check fails a run when a ratio is more than 30% worse than the baseline's
 * (lower for `better: 'higher'`, higher for `better: 'lower'`).
 * @typedef {object} BenchRatio
 * @property {number} value
 * @property {'higher' | 'lower'} better
 * @property {string} description  what is divided by what, e.g. "Stepgate / Cedar in-process decisions/s"
 * @property {boolean} [checked]  false: reported beside the others but never fails the check — for a
 *   ratio dominated by a fixed delay or a tiny denominator, whose run-to-run swing on this machine
 *   exceeds 30 % (say why in the description)
 */

/**
 * A bar chart rendered to SVG in the report.
 * @typedef {object} BenchChart
 * @property {string} id      file-name safe, e.g. "engine-throughput"
 * @property {string} title
 * @property {string} unit    e.g. "decisions/s", "µs", "ms"
 * @property {{ label: string, value: number }[]} bars
 */

/**
 * @typedef {object} BenchSection
 * @property {string} id          e.g. "peers-engine"
 * @property {string} title
 * @property {BenchTable[]} tables
 * @property {Record<string, BenchRatio>} ratios   keys stable across runs (the baseline is keyed by `${section.id}.${key}`)
 * @property {Record<string, number>} metrics      absolute figures (reported, never checked)
 * @property {BenchChart[]} [charts]
 * @property {string[]} [notes]   methodology, targets met/missed, caveats
 */

/**
 * Every part exports `run(options)`; `quick` is the short mode the regression check uses
 * (same ratios, fewer/shorter rounds; must finish in about a minute per part).
 * @typedef {object} BenchRunOptions
 * @property {boolean} quick
 * @property {(line: string) => void} log   progress lines (stderr)
 */

export {};
