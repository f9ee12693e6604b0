/**
 * The model fingerprint (docs/MODEL_PACKAGE.md): sha256 over the canonical manifest `network` + `head`
 * (+ non-default tokenizer rules) JSON, the weight bytes and the vocabulary bytes; the first 16 hex digits. It is stored in every state
 * record, so a state written by one model is never fed to another.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level and no whitespace: equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What the fingerprint covers. */
export interface FingerprintInput {
  /** The manifest's `network` section. */
  network: unknown;
  /** The manifest's `head` section. */
  head: unknown;
  /** Tokenizer settings that change the ids (`{ split }` when not the original `words`); absent: none. */
  tokenizer?: unknown;
  /** The weight files' bytes, in a fixed order (safetensors: the file; layers: model.json then the shards). */
  weights: Uint8Array[];
  /** The vocabulary file's bytes. */
  vocab: Uint8Array;
}

/**
 * sha256(canonical `{head, network}` JSON, then each weight file, then the vocabulary), each part
 * preceded by its byte length (so no two different inputs hash the same bytes); first 16 hex digits.
 * @example const fp = modelFingerprint({ network, head, weights: [bytes], vocab: vocabBytes }); // '3f9c0a…'
 */
export function modelFingerprint(input: FingerprintInput): string {
  const hash = createHash('sha256');
  const part = (bytes: Uint8Array) => {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.byteLength));
    hash.update(length);
    hash.update(bytes);
  };
  // `tokenizer` undefined drops out of the canonical JSON: fingerprints of older packages are unchanged.
  const identity = { network: input.network, head: input.head, tokenizer: input.tokenizer };
  part(Buffer.from(canonicalJson(identity), 'utf8'));
  for (const weights of input.weights) part(weights);
  part(input.vocab);
  return hash.digest('hex').slice(0, 16);
}
