// Checks what a part returned against the section contract (section.js) before anything is
// printed or written, so a malformed part fails with the exact field to fix instead of a
// broken report or a baseline that cannot be compared later.

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const FILE_SAFE = /^[a-z0-9][a-z0-9-]*$/;

/**
 * @param {unknown} value  what `run()` resolved with
 * @param {string} part    for the messages
 * @returns {string[]} problems, empty when the value is a valid BenchSection[]
 */
export function sectionProblems(value, part) {
  const problems = [];
  const bad = (where, what) => problems.push(`${part}: ${where} ${what}`);
  if (!Array.isArray(value) || value.length === 0) {
    bad('run()', 'must resolve with a non-empty array of BenchSection (bench/report/section.js)');
    return problems;
  }
  const ids = new Set();
  value.forEach((section, i) => {
    const at = `section ${isObject(section) && section.id ? `"${section.id}"` : `#${i}`}`;
    if (!isObject(section)) return bad(at, 'is not an object');
    if (typeof section.id !== 'string' || !FILE_SAFE.test(section.id))
      bad(at, 'id must be lower-case letters, digits and dashes');
    else if (ids.has(section.id)) bad(at, 'id is used by two sections');
    ids.add(section.id);
    if (typeof section.title !== 'string' || !section.title) bad(at, 'title must be a string');
    if (!Array.isArray(section.tables)) bad(at, 'tables must be an array');
    else
      section.tables.forEach((table, t) => {
        const where = `${at} table #${t}`;
        if (!isObject(table) || typeof table.title !== 'string') return bad(where, 'needs a title');
        if (!Array.isArray(table.columns) || table.columns.some((c) => typeof c !== 'string'))
          return bad(where, 'columns must be strings');
        if (!Array.isArray(table.rows)) return bad(where, 'rows must be an array');
        table.rows.forEach((row, r) => {
          if (!Array.isArray(row) || row.length !== table.columns.length)
            bad(`${where} row #${r}`, `must have ${table.columns.length} cells`);
          else if (row.some((c) => typeof c !== 'string' && typeof c !== 'number'))
            bad(`${where} row #${r}`, 'cells must be strings or numbers');
        });
      });
    if (!isObject(section.ratios)) bad(at, 'ratios must be an object');
    else
      for (const [key, ratio] of Object.entries(section.ratios)) {
        const where = `${at} ratio "${key}"`;
        if (!/^[A-Za-z0-9_-]+$/.test(key)) bad(where, 'key must be letters, digits, _ or -');
        if (!isObject(ratio)) {
          bad(where, 'is not an object');
          continue;
        }
        if (!finite(ratio.value) || ratio.value < 0)
          bad(where, `value must be a finite number >= 0 (got ${ratio.value})`);
        if (ratio.better !== 'higher' && ratio.better !== 'lower')
          bad(where, 'better must be "higher" or "lower"');
        if (typeof ratio.description !== 'string' || !ratio.description)
          bad(where, 'needs a description');
      }
    if (!isObject(section.metrics)) bad(at, 'metrics must be an object');
    else
      for (const [key, metric] of Object.entries(section.metrics))
        if (typeof metric !== 'number') bad(`${at} metric "${key}"`, 'must be a number');
    if (section.charts !== undefined) {
      if (!Array.isArray(section.charts)) bad(at, 'charts must be an array');
      else
        section.charts.forEach((chart, c) => {
          const where = `${at} chart #${c}`;
          if (!isObject(chart)) return bad(where, 'is not an object');
          if (typeof chart.id !== 'string' || !FILE_SAFE.test(chart.id))
            bad(where, 'id must be lower-case letters, digits and dashes (it names a file)');
          if (typeof chart.title !== 'string' || typeof chart.unit !== 'string')
            bad(where, 'needs a title and a unit');
          if (!Array.isArray(chart.bars) || chart.bars.length === 0)
            bad(where, 'needs at least one bar');
          else if (
            chart.bars.some((b) => !isObject(b) || typeof b.label !== 'string' || !finite(b.value))
          )
            bad(where, 'bars must be { label: string, value: finite number }');
        });
    }
    if (
      section.notes !== undefined &&
      (!Array.isArray(section.notes) || section.notes.some((n) => typeof n !== 'string'))
    )
      bad(at, 'notes must be strings');
  });
  return problems;
}

/** Chart ids must be unique across the run: they name files. */
export function duplicateChartIds(sections) {
  const seen = new Set();
  const duplicates = [];
  for (const section of sections)
    for (const chart of section.charts ?? []) {
      if (seen.has(chart.id)) duplicates.push(chart.id);
      seen.add(chart.id);
    }
  return duplicates;
}
