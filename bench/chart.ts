/**
 * A log-log line chart as a standalone SVG string, drawn by hand: no chart library is a dependency, and
 * the report only needs lines, points, decade grid lines and a legend.
 */

/** One line of the chart. */
export interface ChartSeries {
  label: string;
  points: { x: number; y: number }[];
  /** CSS colour. */
  color: string;
  /** Dashed (e.g. a roofline). @default false */
  dashed?: boolean;
}

/** Texts and size of a chart. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** @default 640 */
  width?: number;
  /** @default 400 */
  height?: number;
}

/** A colour per implementation, stable across charts. */
export const CHART_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#7f7f7f'];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `1 000 000` → `1M`, for tick labels. */
export function shortNumber(value: number): string {
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units)
    if (value >= size) return `${Number((value / size).toPrecision(3))}${unit}`;
  return String(Number(value.toPrecision(3)));
}

/**
 * Renders series on log10 axes (points ≤ 0 are skipped: they have no place on a log scale).
 * @example const svg = renderLogLogChart([{ label: 'a', color: '#000', points: [{ x: 1, y: 10 }, { x: 16, y: 100 }] }], { title: 't', xLabel: 'batch', yLabel: 'tokens/s' });
 */
export function renderLogLogChart(series: readonly ChartSeries[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const margin = { left: 64, right: 16, top: 32, bottom: 48 };
  const legendWidth = 190;
  const plotRight = width - margin.right - legendWidth;
  const plotBottom = height - margin.bottom;
  const all = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const lx = all.map((p) => Math.log10(p.x));
  const ly = all.map((p) => Math.log10(p.y));
  // Whole decades around the data (one decade when there is no data or a single value).
  const decades = (logs: number[]): [number, number] => {
    if (logs.length === 0) return [0, 1];
    const low = Math.floor(Math.min(...logs));
    return [low, Math.max(Math.ceil(Math.max(...logs)), low + 1)];
  };
  const [xMin, xMax] = decades(lx);
  const [yMin, yMax] = decades(ly);
  const sx = (x: number) =>
    margin.left + ((Math.log10(x) - xMin) / (xMax - xMin)) * (plotRight - margin.left);
  const sy = (y: number) => plotBottom - ((Math.log10(y) - yMin) / (yMax - yMin)) * (plotBottom - margin.top);
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  for (let d = xMin; d <= xMax; d++) {
    const x = f(sx(10 ** d));
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${plotBottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${plotBottom + 14}" text-anchor="middle">${shortNumber(10 ** d)}</text>`);
  }
  for (let d = yMin; d <= yMax; d++) {
    const y = f(sy(10 ** d));
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${plotRight}" y2="${y}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${shortNumber(10 ** d)}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotRight - margin.left}" height="${plotBottom - margin.top}" fill="none" stroke="#333"/>`,
    `<text x="${(margin.left + plotRight) / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="14" y="${(margin.top + plotBottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(margin.top + plotBottom) / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const points = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (points.length > 0) {
      const path = points.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ');
      parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
      if (!s.dashed) {
        for (const p of points)
          parts.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3" fill="${s.color}"/>`);
      }
    }
    const ly0 = margin.top + 8 + i * 18;
    const lx0 = plotRight + 12;
    parts.push(
      `<line x1="${lx0}" y1="${ly0}" x2="${lx0 + 22}" y2="${ly0}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx0 + 28}" y="${ly0}" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
