/**
 * Replay with a bidirectional model: every message is a whole text, scored on its own (forward and
 * backward final states concatenated, {@link createWholeEncoder}), and no state is carried between
 * messages — the backward direction reads from the end, so a text cannot be continued by a later one.
 * The dataflow is `run`'s without the state stages: source → decode → tokenize → batch → encode → head
 * → sink → ack, in source order, so acks stay in order per partition without an ack tracker.
 */
import { bufferTime, concatMap, filter } from 'rxjs';
import type { DeadLetter, Prediction, TokenizedMessage } from '../../core/contracts.js';
import { decodeRecord } from '../../operators/decodeRecord.js';
import { tokenizeMessages } from '../../operators/tokenizeMessages.js';
import { type OutputEmitOptions, toOutput } from '../../operators/toOutputs.js';
import type { DeadLetterSink, Sink, Source } from '../connectors.js';
import { deadLetterFields, type Logger } from '../logger.js';
import { RunContext, type RunningPipeline } from '../running.js';

/** What the whole-text pipeline needs of a model. */
export interface WholeTextModel {
  /** `name@fingerprint`, written in every output. */
  id: string;
  tokenize(text: string): Int32Array;
  /** Embeddings of whole token sequences (bidirectional: 2H wide). */
  encodeTokens(rows: Int32Array[]): Promise<Float32Array[]>;
  predict(hidden: Float32Array[]): Prediction[];
}

/** The parts of a whole-text pipeline. */
export interface WholeTextParts {
  source: Source & { start?(): Promise<void> };
  sink: Sink;
  deadLetters: DeadLetterSink;
  model: WholeTextModel;
  log: Logger;
}

/** Tuning of a whole-text pipeline. */
export interface WholeTextOptions {
  /** @default 'json' */
  inputFormat: 'json' | 'text';
  /** Texts per encoder call. @default 4096 */
  maxBatchRows: number;
  /** Longest wait for a batch to fill. @default 50 */
  maxDelayMs: number;
  /** @default { sentiment: true, embedding: false } */
  emit: OutputEmitOptions;
  /** @default 65536 */
  maxValueBytes: number;
  /** @default 1024 */
  maxKeyBytes: number;
}

/** Defaults of {@link WholeTextOptions}. */
export const DEFAULT_WHOLE_TEXT_OPTIONS: WholeTextOptions = {
  inputFormat: 'json',
  maxBatchRows: 4096,
  maxDelayMs: 50,
  emit: { sentiment: true, embedding: false },
  maxValueBytes: 64 * 1024,
  maxKeyBytes: 1024,
};

/**
 * Scores each message's text as a whole, in batches; resolves `done` when the source ended.
 * @example const running = runWholeTextPipeline({ source, sink, deadLetters, model, log }); await running.done;
 */
export function runWholeTextPipeline(
  parts: WholeTextParts,
  options: Partial<WholeTextOptions> = {},
): RunningPipeline {
  const opts = { ...DEFAULT_WHOLE_TEXT_OPTIONS, ...options };
  const { source, sink, deadLetters, model, log } = parts;
  const run = new RunContext(log);
  const { stats } = run;
  const retry = <T>(op: string, fn: () => Promise<T>) => run.retry(op, fn);

  const done$ = source.records$.pipe(
    decodeRecord({
      format: opts.inputFormat,
      maxValueBytes: opts.maxValueBytes,
      maxKeyBytes: opts.maxKeyBytes,
    }),
    tokenizeMessages({ tokenize: (text) => model.tokenize(text) }),
    bufferTime(Math.max(opts.maxDelayMs, 1), null, opts.maxBatchRows),
    filter((items) => items.length > 0),
    concatMap(async (items) => {
      const good: TokenizedMessage[] = [];
      const dead: DeadLetter[] = [];
      for (const item of items) {
        if (item.ok) good.push(item.value);
        else dead.push(item.dead);
      }
      stats.messagesIn += items.length;
      stats.batches++;
      stats.rows += good.length;
      if (dead.length > 0) {
        for (const d of dead) log.warn(deadLetterFields(d), 'dead letter');
        stats.deadLetters += dead.length;
        await retry('dlq', () => deadLetters.write(dead));
      }
      const embeddings = good.length > 0 ? await model.encodeTokens(good.map((m) => m.tokens)) : [];
      const predictions = opts.emit.sentiment && good.length > 0 ? model.predict(embeddings) : [];
      const outputs = good.map((message, i) => {
        stats.tokens += message.tokens.length;
        return toOutput(
          {
            message,
            totalTokens: message.tokens.length,
            prediction: predictions[i],
            embedding: embeddings[i],
            replayed: false,
          },
          model.id,
          opts.emit,
        );
      });
      // Every position of the batch, in source order (the items kept it): safe to commit in one go.
      const positions = items.map((item) => (item.ok ? item.value.record.source : item.dead.record.source));
      if (outputs.length > 0 || sink.commitsOffsets)
        await retry('sink', () => sink.write(outputs, positions));
      await retry('commit', () => source.ack(positions));
      stats.outputs += outputs.length;
    }),
  );

  return run.start(done$, source);
}
