import { useEffect, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** A CSS custom property of styles.css (e.g. `--deny`): the canvas needs a real colour. */
  colour: string;
  /** One value per time; null leaves a gap (e.g. a rate with nothing to divide). */
  values: (number | null)[];
  /** Marks every value with a dot: a series with gaps may have lone values a line cannot show. */
  points?: boolean;
}

export interface TimeChartProps {
  /** Names the chart, its figure caption and the table of its numbers. */
  title: string;
  /** Bucket starts, in Unix seconds, oldest first. */
  times: number[];
  series: ChartSeries[];
  /** Unit of the y axis, e.g. `/min` or `%`. */
  unit: string;
  /** The data in a sentence (the figure's caption): the chart is never the only way to read it. */
  summary: string;
  format?: (value: number) => string;
  height?: number;
}

// The canvas takes the theme's colours when drawn: a change of the system theme redraws it.
const DARK = '(prefers-color-scheme: dark)';
const subscribeScheme = (onChange: () => void) => {
  const query = window.matchMedia(DARK);
  query.addEventListener('change', onChange);
  return () => query.removeEventListener('change', onChange);
};
const isDark = () => window.matchMedia(DARK).matches;

const cssColour = (name: string): string =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || 'currentColor';

/**
 * A uPlot line chart over time, sized by its container (resized with it), destroyed on unmount,
 * with the same numbers as text: a caption that sums them up and a table behind a disclosure.
 * The canvas is hidden from assistive technology, which reads the caption and the table.
 */
export function TimeChart({
  title,
  times,
  series,
  unit,
  summary,
  format = (value) => value.toLocaleString(),
  height = 220,
}: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const dark = useSyncExternalStore(subscribeScheme, isDark);
  const data: uPlot.AlignedData = [times, ...series.map((s) => s.values)];
  const shape = series.map((s) => `${s.label}:${s.colour}:${s.points}`).join('|');
  // The table lists the times with something to read; an hour of empty minutes is noise.
  const rows = times
    .map((time, index) => ({ time, values: series.map((s) => s.values[index] ?? null) }))
    .filter((row) => row.values.some((value) => value !== null && value !== 0));

  // Created before paint (layout effect) so "data ready" on the page means the chart is drawn.
  useLayoutEffect(() => {
    const element = container.current;
    if (!element) return;
    const fg = cssColour('--fg');
    const grid = cssColour('--border');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const created = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // Headroom above the highest value, so a peak is not drawn on the frame.
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(max * 1.15, 1)] },
        },
        axes: [axis, { ...axis, size: 60, values: (_u, ticks) => ticks.map(format) }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: cssColour(s.colour),
            width: 2,
            spanGaps: false,
            ...(s.points ? { points: { show: true, size: 6, fill: cssColour(s.colour) } } : {}),
          })),
        ],
      },
      data,
      element,
    );
    chart.current = created;
    const observer = new ResizeObserver(() => {
      const width = Math.max(element.clientWidth, 200);
      if (width !== created.width) created.setSize({ width, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      chart.current = null;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [shape, height, dark]);

  useEffect(() => {
    chart.current?.setData(data);
  });

  return (
    <figure className="time-chart">
      <figcaption>
        <strong>{title}</strong>
        <span className="time-chart-summary">{summary}</span>
      </figcaption>
      <ul className="time-chart-legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.label}>
            <span className="time-chart-swatch" style={{ background: `var(${s.colour})` }} />
            {s.label}
          </li>
        ))}
      </ul>
      <div ref={container} className="time-chart-canvas" aria-hidden="true" />
      <details>
        <summary>Numbers of “{title}”</summary>
        <table>
          <caption className="visually-hidden">{title}</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              {series.map((s) => (
                <th key={s.label} scope="col">
                  {s.label} ({unit})
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.time}>
                <th scope="row">
                  <time dateTime={new Date(row.time * 1000).toISOString()}>
                    {new Date(row.time * 1000).toLocaleString()}
                  </time>
                </th>
                {row.values.map((value, index) => (
                  <td key={series[index]?.label ?? index}>
                    {value === null ? '—' : format(value)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted">
          {rows.length ? 'Times without any are left out.' : 'Nothing to show in this window.'}
        </p>
      </details>
    </figure>
  );
}
