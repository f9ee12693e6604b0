/**
 * IEEE 754 half-precision (binary16) conversion by hand: Node 20 has no `Float16Array`. Used by the
 * state record's `float16` dtype, which halves the bytes per key in Redis at the cost of ~2.4e-4
 * absolute error on tanh-range values (|x| ≤ 1).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Rounds a number to the nearest binary16 (ties to even) and returns its 16 bits. Values beyond
 * ±65504 become ±Infinity, as IEEE rounding does; NaN stays NaN.
 *
 * @example toFloat16Bits(1) // 0x3c00
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN (quiet)
  const e = exp - 127 + 15; // rebias
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place, rounding to even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rem > mid || (rem === mid && half & 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent (up to Inf).
  return sign | (rem > 0x1000 || (rem === 0x1000 && half & 1) ? half + 1 : half);
}

/**
 * The number a binary16 bit pattern stands for.
 *
 * @example fromFloat16Bits(0x3c00) // 1
 */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | undefined;

/**
 * All 65536 binary16 values as float32 (256 KiB, built on first use): decoding a float16 record becomes
 * one lookup per value.
 */
export function float16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) table[bits] = fromFloat16Bits(bits);
  }
  return table;
}
