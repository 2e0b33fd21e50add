// Horizontal bar charts as standalone SVG, written by hand (no chart dependency): a title,
// one row per bar with its label on the left and its value at the end of the bar. Text widths
// are estimated from character counts, which is close enough for the system sans-serif fonts
// GitHub and browsers render these with.

import { formatNumber } from './format.js';

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const CHAR_WIDTH = 7; // px per character at 13 px: a generous average
const ROW = 28;
const BAR = 18;
const PAD = 16;
const TITLE = 40;
const BAR_AREA = 420;
const COLOURS = { stepgate: '#2563eb', other: '#94a3b8' };

/** XML text content / attribute value. */
export function escapeXml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * @param {import('./section.js').BenchChart} chart
 * @returns {string} a complete SVG document
 */
export function renderBarChart(chart) {
  const bars = chart.bars;
  const labelWidth = Math.max(60, ...bars.map((b) => b.label.length * CHAR_WIDTH)) + 8;
  const valueText = bars.map((b) => `${formatNumber(b.value)} ${chart.unit}`);
  const valueWidth = Math.max(40, ...valueText.map((t) => t.length * CHAR_WIDTH)) + 8;
  const titleText = `${chart.title} (${chart.unit})`;
  const width = Math.max(
    PAD * 2 + labelWidth + BAR_AREA + valueWidth,
    PAD * 2 + titleText.length * 8,
  );
  const height = TITLE + bars.length * ROW + PAD;
  const max = Math.max(0, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const x0 = PAD + labelWidth;

  const rows = bars.map((bar, i) => {
    const y = TITLE + i * ROW;
    const value = Number.isFinite(bar.value) && bar.value > 0 ? bar.value : 0;
    // A visible sliver for non-zero values too small to draw at this scale.
    const length = max > 0 ? Math.max(value > 0 ? 1 : 0, (value / max) * BAR_AREA) : 0;
    const colour = /stepgate/i.test(bar.label) ? COLOURS.stepgate : COLOURS.other;
    const middle = y + BAR / 2 + 4.5;
    return [
      `  <text x="${x0 - 8}" y="${middle}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `  <rect x="${x0}" y="${y}" width="${length.toFixed(1)}" height="${BAR}" rx="2" fill="${colour}"><title>${escapeXml(`${bar.label}: ${valueText[i]}`)}</title></rect>`,
      `  <text x="${(x0 + length + 6).toFixed(1)}" y="${middle}">${escapeXml(valueText[i])}</text>`,
    ].join('\n');
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(titleText)}">`,
    `  <rect width="100%" height="100%" fill="#ffffff"/>`,
    `  <g ${FONT} font-size="13" fill="#0f172a">`,
    `  <text x="${PAD}" y="${PAD + 8}" font-size="15" font-weight="600">${escapeXml(titleText)}</text>`,
    `  <line x1="${x0}" y1="${TITLE - 4}" x2="${x0}" y2="${height - PAD + 4}" stroke="#cbd5e1"/>`,
    ...rows,
    '  </g>',
    '</svg>',
    '',
  ].join('\n');
}
