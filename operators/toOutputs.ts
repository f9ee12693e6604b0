import type { OutputMessage, ScoredMessage, SinkRecord } from '../core/contracts.js';

/** What an output carries besides its bookkeeping fields. */
export interface OutputEmitOptions {
  /** Emit `sentiment: {label, score}` (when the message has a prediction). @default true */
  sentiment: boolean;
  /**
   * Emit the embedding (when the message has one): `true` as a number array, `'base64'` as the
   * base64 of its little-endian float32 bytes (4 bytes per value, far smaller than JSON numbers).
   * @default false
   */
  embedding: boolean | 'base64';
}

/**
 * One scored message as a sink record carrying the output contract (key = the sequence key).
 *
 * @example
 * toOutput(scored, 'sentiment-gru@0123456789abcdef', { sentiment: true, embedding: 'base64' })
 */
export function toOutput(scored: ScoredMessage, model: string, emit: OutputEmitOptions): SinkRecord {
  const { message } = scored;
  const value: OutputMessage = {
    key: message.key,
    source: { ...message.record.source },
    tokens: message.tokens.length,
    totalTokens: scored.totalTokens,
    model,
  };
  if (message.id !== undefined) value.id = message.id;
  if (emit.sentiment && scored.prediction) {
    value.sentiment = { label: scored.prediction.label, score: scored.prediction.score };
  }
  if (emit.embedding !== false && scored.embedding) {
    value.embedding =
      emit.embedding === 'base64' ? float32ToBase64(scored.embedding) : Array.from(scored.embedding);
  }
  if (message.end) value.end = true;
  if (scored.replayed) value.replayed = true;
  return { key: message.key, value };
}

/** Base64 of the values as little-endian float32, whatever the host's byte order. */
export function float32ToBase64(values: Float32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    bytes.writeFloatLE(v, i * 4);
  });
  return bytes.toString('base64');
}
