// A baseline from several full runs (`node bench/run.js --update-baseline --runs 3`): one run on
// a 2-core machine shared by PostgreSQL, Redis, the control plane, agents and load generators
// swings by more than the check's 30 %, so the reference is the median of each ratio and each
// metric over the runs, with the spread (lowest, highest, every value) kept beside it.

/** Median of a non-empty list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** @returns {{ min: number, max: number, values: number[] }} */
function spreadOf(values) {
  return { min: Math.min(...values), max: Math.max(...values), values };
}

/**
 * Values of one ratio or metric across the runs, in run order; runs that lack it are skipped.
 * @param {object[]} runs  the runs' results
 * @param {string} sectionId
 * @param {'ratios' | 'metrics'} kind
 * @param {string} key
 */
function valuesAcross(runs, sectionId, kind, key) {
  const values = [];
  for (const run of runs) {
    const section = run.sections.find((s) => s.id === sectionId);
    const entry = section?.[kind]?.[key];
    const value = kind === 'ratios' ? entry?.value : entry;
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

/**
 * One result whose ratios and metrics are the medians of the runs'. Tables, charts and notes
 * are the first run's (they describe the method; the spread table says how far runs differ).
 * A ratio or metric missing from some runs is the median of the runs that have it.
 * @param {object[]} runs  full runs of every part, in the order they ran
 */
export function combineRuns(runs) {
  if (runs.length === 0) throw new Error('combineRuns needs at least one run');
  const [first] = runs;
  const sections = first.sections.map((section) => {
    const ratios = {};
    for (const [key, ratio] of Object.entries(section.ratios ?? {})) {
      const values = valuesAcross(runs, section.id, 'ratios', key);
      ratios[key] = { ...ratio, value: median(values), spread: spreadOf(values) };
    }
    const metrics = {};
    const metricSpread = {};
    for (const key of Object.keys(section.metrics ?? {})) {
      const values = valuesAcross(runs, section.id, 'metrics', key);
      if (!values.length) continue;
      metrics[key] = median(values);
      metricSpread[key] = spreadOf(values);
    }
    return { ...section, ratios, metrics, metricSpread };
  });
  return {
    ...first,
    command: first.command,
    runs: runs.map((run) => ({
      startedAt: run.startedAt,
      totalSeconds: run.totalSeconds,
      loadAverage: run.machine.loadAverage,
      busyBefore: run.machine.busyBefore,
      gitSha: run.machine.gitSha,
      failedParts: run.parts.filter((part) => part.status !== 'ok').map((part) => part.name),
    })),
    totalSeconds: runs.reduce((sum, run) => sum + run.totalSeconds, 0),
    sections,
  };
}

/**
 * Checks full runs read back for `--from` and orders them for combineRuns: a part that did not
 * pass in a run is left out of that run's medians (noted); a part that passed in no run refuses
 * the baseline. The runs with every part passing go first: the first is the template.
 * @param {object[]} runs
 * @param {string[]} labels     one per run, for the notes (e.g. its file)
 * @param {string[]} partNames  every part a full run has
 * @returns {{ runs: object[], notes: string[], error?: string }}
 */
export function planBaseline(runs, labels, partNames) {
  const passed = (run, name) => run.parts.some((p) => p.name === name && p.status === 'ok');
  const notes = [];
  runs.forEach((run, index) => {
    const failed = partNames.filter((name) => !passed(run, name));
    if (failed.length)
      notes.push(`${labels[index]}: ${failed.join(', ')} did not pass; left out of their medians`);
  });
  const passedNowhere = partNames.filter((name) => !runs.some((run) => passed(run, name)));
  if (passedNowhere.length)
    return { runs, notes, error: `${passedNowhere.join(', ')} passed in none of the runs` };
  const complete = (run) => partNames.every((name) => passed(run, name));
  return {
    runs: [...runs.filter(complete), ...runs.filter((run) => !complete(run))],
    notes,
  };
}
