// The regression check: every ratio of a run against the same ratio in the baseline run
// (bench/results/baseline.json). Ratios, not absolute times, so that a slower or busier machine
// does not fail the check by itself; a ratio more than `threshold` worse fails it.

/** 30 %: the limit. */
export const DEFAULT_THRESHOLD = 0.3;

/** Float noise must not turn "exactly 30 % worse" into a failure. */
const EPSILON = 1e-9;

/**
 * Every ratio of the sections, keyed `${section.id}.${key}` as the baseline is.
 * @param {import('./section.js').BenchSection[]} sections
 * @returns {Record<string, import('./section.js').BenchRatio>}
 */
export function collectRatios(sections) {
  const ratios = {};
  for (const section of sections)
    for (const [key, ratio] of Object.entries(section.ratios ?? {}))
      ratios[`${section.id}.${key}`] = ratio;
  return ratios;
}

/**
 * How much worse `value` is than `baseline` as a fraction of the baseline (negative: better).
 * @param {number} value
 * @param {number} baseline
 * @param {'higher' | 'lower'} better
 */
export function worsening(value, baseline, better) {
  const change = (value - baseline) / baseline;
  return better === 'higher' ? -change : change;
}

/**
 * @typedef {object} RatioComparison
 * @property {string} key
 * @property {string} description
 * @property {'higher' | 'lower'} better
 * @property {number | undefined} value      this run's ratio (undefined: not measured this run)
 * @property {number | undefined} baseline
 * @property {number | undefined} change     (value - baseline) / baseline
 * @property {'ok' | 'improved' | 'regressed' | 'new' | 'not measured' | 'incomparable' | 'not checked'} verdict
 */

/**
 * Compares this run's ratios with the baseline's. Only `regressed` fails (never a ratio marked
 * `checked: false`, listed as `not checked`): a ratio the baseline
 * lacks is listed as `new`, one this run did not measure (a part skipped or not written yet) as
 * `not measured`, and a baseline of 0 or a changed `better` direction as `incomparable`.
 * @param {Record<string, import('./section.js').BenchRatio>} current
 * @param {Record<string, import('./section.js').BenchRatio> | undefined} baseline  undefined: no baseline file
 * @param {number} [threshold]
 * @returns {{ rows: RatioComparison[], failed: boolean, regressions: string[] }}
 */
export function compareRatios(current, baseline, threshold = DEFAULT_THRESHOLD) {
  const rows = [];
  for (const [key, ratio] of Object.entries(current)) {
    const base = baseline?.[key];
    const row = {
      key,
      description: ratio.description,
      better: ratio.better,
      value: ratio.value,
      baseline: base?.value,
      change: undefined,
      verdict: 'new',
    };
    if (base) {
      if (base.better !== ratio.better || !Number.isFinite(base.value) || base.value <= 0) {
        row.verdict = 'incomparable';
      } else {
        row.change = (ratio.value - base.value) / base.value;
        const worse = worsening(ratio.value, base.value, ratio.better);
        row.verdict =
          ratio.checked === false
            ? 'not checked'
            : worse > threshold + EPSILON
              ? 'regressed'
              : -worse > threshold
                ? 'improved'
                : 'ok';
      }
    }
    rows.push(row);
  }
  for (const [key, base] of Object.entries(baseline ?? {}))
    if (!(key in current))
      rows.push({
        key,
        description: base.description,
        better: base.better,
        value: undefined,
        baseline: base.value,
        change: undefined,
        verdict: 'not measured',
      });
  const regressions = rows.filter((row) => row.verdict === 'regressed').map((row) => row.key);
  return { rows, failed: regressions.length > 0, regressions };
}
