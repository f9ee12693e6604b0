/**
 * Contracts between the stages (DESIGN.md, "Contracts"): records, messages, batches, stored states and
 * outputs. Operators in `operators/` are typed by these, the engine in `model/` shares `RnnState` and
 * `Prediction`, connectors in `pipeline/` produce and consume them. Imports nothing of rnnstream's.
 */

/**
 * One key's recurrent state between messages: `h` is `[numLayers * hiddenSize]` (layer-major),
 * `c` the same for LSTM and absent for RNN/GRU.
 */
export interface RnnState {
  h: Float32Array;
  c?: Float32Array;
}

/** A label and its probability, as emitted in `sentiment`. */
export interface Prediction {
  label: string;
  score: number;
  /** Probability per label (softmax heads; for sigmoid `[1-p, p]`). */
  probs: number[];
}

/** Where a message came from: Kafka coordinates, or a file (topic = file path, partition 0, offset = line index). */
export interface SourcePosition {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: carried as decimal strings. */
  offset: string;
}

/** A message as read from a source, before any validation. */
export interface SourceRecord {
  /** Raw key bytes (null when the source had none). */
  key: Buffer | null;
  /** Raw value bytes. */
  value: Buffer | null;
  headers?: Record<string, Buffer | string | undefined>;
  source: SourcePosition;
  /** Source timestamp (ms since epoch) when known. */
  timestamp?: number;
}

/** A decoded, validated input message. */
export interface InputMessage {
  key: string;
  text: string;
  /** Closes the sequence: final output, then the key's state is deleted. */
  end: boolean;
  id?: string;
  record: SourceRecord;
}

/** An input message with its token ids. */
export interface TokenizedMessage extends InputMessage {
  tokens: Int32Array;
}

/** Why a message was refused, and at which stage. */
export interface DeadLetter {
  record: SourceRecord;
  reason: string;
  stage: 'decode' | 'tokenize' | 'state' | 'step' | 'sink';
  /** Free-form detail (never secrets). */
  detail?: string;
}

/** Either a good value or a dead letter: operators pass dead letters through untouched. */
export type Routed<T> = { ok: true; value: T } | { ok: false; dead: DeadLetter };

/** One key's row in a micro-batch: its messages in arrival (offset) order, coalesced. */
export interface BatchRow {
  key: string;
  messages: TokenizedMessage[];
}

/** A micro-batch: at most one row per key. */
export interface Batch {
  /** Monotonic batch number (for logs and ordering). */
  seq: number;
  rows: BatchRow[];
}

/** The fence stored with a key's state: the newest message applied to it. */
export interface Fence {
  partition: number;
  offset: string;
}

/** A key's stored state with its fence and bookkeeping. */
export interface StoredState {
  state: RnnState;
  fence: Fence;
  /** Tokens in the sequence so far. */
  totalTokens: number;
  updatedAt: number;
}

/** A batch row after state load: messages already applied (at or below the fence) are split off. */
export interface LoadedRow extends BatchRow {
  /** Stored state before this batch (undefined = new sequence). */
  previous?: StoredState;
  /** Messages whose offset the stored fence already covers (a replay): not applied again. */
  replayed: TokenizedMessage[];
  /** Messages to apply, in order. */
  fresh: TokenizedMessage[];
}

export interface LoadedBatch extends Batch {
  rows: LoadedRow[];
  /** Rows whose stored state was unusable (bad checksum, other model): handled per on-bad-state. */
  dead: DeadLetter[];
}

/** Per-message result after the step, before the sink. */
export interface ScoredMessage {
  message: TokenizedMessage;
  /** Tokens in the sequence after this message. */
  totalTokens: number;
  prediction?: Prediction;
  embedding?: Float32Array;
  /** True when this message was a replay (its effect is already in the stored state). */
  replayed: boolean;
}

/** A batch after the step: new states to store and per-message results to emit. */
export interface SteppedBatch {
  seq: number;
  /** New stored state per key; `null` = delete (the sequence ended). */
  writes: Map<string, StoredState | null>;
  results: ScoredMessage[];
  dead: DeadLetter[];
}

/** The output message contract (JSON). */
export interface OutputMessage {
  key: string;
  id?: string;
  source: SourcePosition;
  tokens: number;
  totalTokens: number;
  sentiment?: { label: string; score: number };
  embedding?: number[] | string;
  model: string;
  end?: boolean;
  replayed?: boolean;
}

/** What a state store returns for a key it holds. Keys it does not hold are absent from the map. */
export type LoadedState =
  /** A usable state of this model. */
  | { kind: 'ok'; stored: StoredState }
  /** The sequence ended (`end: true`): no state, but the fence still guards against replays. */
  | { kind: 'ended'; fence: Fence }
  /** Unusable bytes (garbage, truncated, bad checksum, another model's fingerprint): never fed to the network. */
  | { kind: 'bad'; reason: string };

/** A fenced write: `null` state = the sequence ended (stored as a fence-only tombstone). */
export interface StateWrite {
  key: string;
  fence: Fence;
  stored: StoredState | null;
}

/** What a fenced write did per key. */
export interface WriteReport {
  /** Keys written. */
  applied: number;
  /** Keys whose stored fence was already at or past the incoming one (a replay): left unchanged. */
  fenced: string[];
}

/** An output ready for a sink: the sequence key and the JSON-encodable output contract. */
export interface SinkRecord {
  key: string;
  value: OutputMessage;
}

/** `topic|partition`: the one key of per-partition maps (Kafka bookkeeping, commit tracking, producers). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}

/** `topic|partition|offset`: the key of one source position. */
export function positionKey(position: SourcePosition): string {
  return `${partitionKey(position.topic, position.partition)}|${position.offset}`;
}
