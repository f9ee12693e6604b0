/**
 * Number formatting shared by the benchmark reports and result lines.
 */

/**
 * A number with thousands separators and a fixed number of decimals, or `–` when missing.
 * @example fmt(12345.6) // '12,346'
 */
export const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Rounded to `digits` decimals, as a number (for JSON result lines).
 * @example round(12.345, 1) // 12.3
 */
export const round = (x: number, digits = 1) => Number(x.toFixed(digits));
