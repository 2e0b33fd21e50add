// Command line of bench/run.js. Bad input is a usage error naming what is wrong and how to fix
// it (exit 2), never a stack trace.
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const USAGE = `Usage: node bench/run.js [--quick] [--only <parts>] [--update-baseline [--runs N | --from <files>]]

Runs the benchmark parts in order, prints each part's tables and ratios, and compares the
ratios with bench/results/baseline.json (exit 1 when one is more than 30 % worse).

  --quick            short rounds, the regression check: compares, writes no dated results
  --only a,b         run only these parts (comma-separated); writes no dated results
  --update-baseline  after a full run of every part, copy it to bench/results/baseline.json
  --runs N           with --update-baseline: N full runs one after the other (N = 1-9); the
                     baseline is each ratio's and metric's median, with every run's value kept
                     (3 or more: one run on a shared 2-core machine swings past the 30 %)
  --from a,b,c       with --update-baseline: run nothing, make the baseline the median of
                     these full runs' JSON files (e.g. bench/results/<date>-run1.json,...);
                     a part that failed in one run is the median of the runs where it passed
  --help             this text

A full run (no --quick, no --only) writes bench/results/<date>.json, <date>.md and
<date>-<chart>.svg; with --runs N each run also writes <date>-run<i>.json/.md/svg and
<date>.* holds the median.`;

/**
 * @param {string[]} args       process.argv.slice(2)
 * @param {string[]} partNames  known parts, in run order
 */
export function parseOptions(args, partNames) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        'update-baseline': { type: 'boolean', default: false },
        runs: { type: 'string' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  let parts = partNames;
  if (values.only !== undefined) {
    const wanted = values.only
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = wanted.filter((name) => !partNames.includes(name));
    if (wanted.length === 0 || unknown.length)
      throw new UsageError(
        `--only ${JSON.stringify(values.only)}: ${unknown.length ? `unknown part ${unknown.join(', ')}` : 'no part named'}; the parts are ${partNames.join(', ')}`,
      );
    // Keep the run order whatever order they were named in.
    parts = partNames.filter((name) => wanted.includes(name));
  }
  const updateBaseline = values['update-baseline'];
  if (updateBaseline && (values.quick || values.only !== undefined))
    throw new UsageError(
      '--update-baseline needs a full run of every part: drop --quick and --only (a partial or quick baseline would lose or skew ratios)',
    );
  let runs = 1;
  if (values.runs !== undefined) {
    if (!updateBaseline)
      throw new UsageError(
        '--runs only makes a baseline: add --update-baseline (a regression check is one run)',
      );
    runs = Number(values.runs);
    if (!/^[1-9]$/.test(values.runs))
      throw new UsageError(
        `--runs ${JSON.stringify(values.runs)}: give a whole number of runs from 1 to 9, e.g. --runs 3`,
      );
  }
  let from;
  if (values.from !== undefined) {
    if (!updateBaseline || values.runs !== undefined)
      throw new UsageError(
        '--from combines earlier runs into a baseline: use it with --update-baseline and without --runs',
      );
    from = values.from
      .split(',')
      .map((file) => file.trim())
      .filter(Boolean);
    if (from.length === 0)
      throw new UsageError("--from names no file: give the runs' JSON files, comma-separated");
  }
  return {
    runs,
    from,
    quick: values.quick,
    parts,
    partial: values.only !== undefined,
    updateBaseline,
    help: values.help,
  };
}
