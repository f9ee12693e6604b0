/**
 * Calibration of a sigmoid head: predicted P(positive) in equal-width bins against the observed share
 * of positives, the expected calibration error, and a reliability diagram as a small standalone SVG
 * (the model card links it).
 */

/** One bin of a reliability diagram. */
export interface CalibrationBin {
  /** Bin range of the predicted probability. */
  low: number;
  high: number;
  /** Texts whose prediction fell in the bin. */
  count: number;
  /** Mean predicted P(positive) in the bin. */
  predicted: number;
  /** Share of positives among them. */
  observed: number;
}

/** Bins and the expected calibration error (count-weighted mean |observed − predicted|). */
export interface Calibration {
  bins: CalibrationBin[];
  ece: number;
}

/**
 * Reliability bins of P(positive) (`probs[i][1]`) against a binary truth.
 * @example calibration([[0.1, 0.9], [0.8, 0.2]], [1, 0], 10).ece // 0.15
 */
export function calibration(
  probs: readonly ArrayLike<number>[],
  truth: readonly number[],
  binCount = 10,
): Calibration {
  const sums = Array.from({ length: binCount }, () => ({ count: 0, predicted: 0, positives: 0 }));
  probs.forEach((p, i) => {
    const b = Math.min(binCount - 1, Math.floor(p[1] * binCount));
    sums[b].count++;
    sums[b].predicted += p[1];
    sums[b].positives += truth[i] === 1 ? 1 : 0;
  });
  const bins = sums.map((s, b) => ({
    low: b / binCount,
    high: (b + 1) / binCount,
    count: s.count,
    predicted: s.count ? s.predicted / s.count : Number.NaN,
    observed: s.count ? s.positives / s.count : Number.NaN,
  }));
  const n = probs.length || 1;
  const ece = bins.reduce(
    (e, b) => (b.count ? e + (b.count / n) * Math.abs(b.observed - b.predicted) : e),
    0,
  );
  return { bins, ece };
}

/** One line of a reliability diagram. */
export interface CalibrationSeries {
  name: string;
  calibration: Calibration;
  /** CSS colour. */
  colour: string;
}

/**
 * A reliability diagram (observed share of positives against mean predicted probability per bin, the
 * diagonal is perfect calibration) as SVG text.
 * @example await writeFile('calibration.svg', calibrationSvg([{ name: 'P&L reviews', calibration: c, colour: '#1f77b4' }]));
 */
export function calibrationSvg(series: readonly CalibrationSeries[], title = 'Calibration'): string {
  const size = 320;
  const pad = 44;
  const plot = size - 2 * pad;
  const x = (p: number) => (pad + p * plot).toFixed(1);
  const y = (p: number) => (size - pad - p * plot).toFixed(1);
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<text x="${x(t)}" y="${size - pad + 16}" text-anchor="middle">${t}</text>` +
        `<text x="${pad - 6}" y="${Number(y(t)) + 4}" text-anchor="end">${t}</text>`,
    )
    .join('');
  const lines = series
    .map((s, k) => {
      const points = s.calibration.bins.filter((b) => b.count > 0);
      const path = points.map((b) => `${x(b.predicted)},${y(b.observed)}`).join(' ');
      const dots = points
        .map((b) => `<circle cx="${x(b.predicted)}" cy="${y(b.observed)}" r="2.5" fill="${s.colour}"/>`)
        .join('');
      const legend = `<text x="${pad + 6}" y="${pad + 14 + 14 * k}" fill="${s.colour}">${escapeXml(s.name)} (ECE ${s.calibration.ece.toFixed(3)})</text>`;
      return `<polyline points="${path}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>${dots}${legend}`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="10">
<rect width="${size}" height="${size}" fill="white"/>
<text x="${size / 2}" y="16" text-anchor="middle" font-size="12">${escapeXml(title)}</text>
<rect x="${pad}" y="${pad}" width="${plot}" height="${plot}" fill="none" stroke="#999"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>
${ticks}
<text x="${size / 2}" y="${size - 8}" text-anchor="middle">predicted P(positive)</text>
<text x="12" y="${size / 2}" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">observed share positive</text>
${lines}
</svg>
`;
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
