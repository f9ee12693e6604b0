/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the raw little-endian
 * tensor bytes. It is a 30-line format with no well-kept JavaScript library, so it is written here by hand.
 * Only what the engine needs is supported: F32 (read and write), F16 and BF16 converted to F32 on read.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ModelFormatError } from '../core/errors.js';

/** A tensor held in host memory: row-major float32 data and its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Named host tensors, in file order. */
export type TensorMap = Map<string, HostTensor>;

/** The largest header accepted (safetensors itself caps it at 100 MB); guards against garbage files. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes per element of each dtype we can read. */
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Parses safetensors bytes into host tensors (F16/BF16 widened to F32).
 * @param what Name of the source for error messages (usually the file path).
 * @example const tensors = parseSafetensors(await readFile('weights.safetensors'), 'weights.safetensors');
 */
export function parseSafetensors(bytes: Uint8Array, what = 'safetensors'): TensorMap {
  const fail = (detail: string): never => {
    throw new ModelFormatError(`${what}: not a valid safetensors file: ${detail}`);
  };
  if (bytes.byteLength < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.byteLength) {
    fail(`header length ${headerLength} does not fit in ${bytes.byteLength} bytes`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new ModelFormatError(`${what}: not a valid safetensors file: header is not JSON`, { cause: error });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors: TensorMap = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(`tensor "${name}" has dtype ${String(dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    const isDims = (v: unknown): v is number[] =>
      Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
    if (!isDims(shape)) fail(`tensor "${name}" has an invalid shape`);
    if (!isDims(offsets) || offsets.length !== 2) fail(`tensor "${name}" has invalid data_offsets`);
    const [begin, end] = offsets as number[];
    const count = elementCount(shape as number[]);
    const width = DTYPE_BYTES[dtype as string];
    if (end - begin !== count * width || end > dataLength || begin > end) {
      fail(`tensor "${name}" data_offsets [${begin}, ${end}] do not match shape [${shape}] of ${dtype}`);
    }
    tensors.set(name, {
      shape: [...(shape as number[])],
      data: decode(bytes.subarray(dataStart + begin, dataStart + end), dtype as string, count),
    });
  }
  return tensors;
}

/** Decodes little-endian raw data of one dtype into a fresh Float32Array (copied: aligned and owned). */
function decode(raw: Uint8Array, dtype: string, count: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (dtype === 'BF16') {
    // bfloat16 is the high half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/**
 * Serializes host tensors as F32 safetensors bytes (tensors in map order, header keys likewise).
 * @example await writeFile('weights.safetensors', serializeSafetensors(tensors));
 */
export function serializeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new RangeError(`tensor "${name}": ${tensor.data.length} values for shape [${tensor.shape}]`);
    }
    const end = offset + tensor.data.length * 4;
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const withPadding = new Uint8Array(padded).fill(0x20);
    withPadding.set(headerBytes);
    headerBytes = withPadding;
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    for (let i = 0; i < tensor.data.length; i++, at += 4) view.setFloat32(at, tensor.data[i], true);
  }
  return out;
}

/**
 * Reads a safetensors file.
 * @example const tensors = await readSafetensors('models/sentiment/weights.safetensors');
 */
export async function readSafetensors(path: string): Promise<TensorMap> {
  return parseSafetensors(await readFile(path), path);
}

/**
 * Writes host tensors to a safetensors file (F32).
 * @example await writeSafetensors('out/weights.safetensors', tensors);
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(path, serializeSafetensors(tensors, metadata));
}
