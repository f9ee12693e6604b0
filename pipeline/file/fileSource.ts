/**
 * The file and stdin source of `run` and `replay`: files read one after the other, each as JSON lines
 * (`{"key","text","end"?,"id"?}`), `key<TAB>text` lines (`text` format) or, for `.csv` paths, CSV with
 * `key` and `text` columns ({@link lineRecords}, {@link csvRecords}).
 *
 * Positions are `(file:PATH | stdin, partition 0, i × 2^40 + line or row index)` for the i-th file: for
 * one file just the line index, and for several one increasing offset sequence, so a key's fence set by a
 * later file still recognises the lines of an earlier file it already applied (a resume after a crash
 * re-reads those). Reading pauses while `maxInFlight` records are un-acked (the shared {@link Budget});
 * `resumeAfter` skips what a replay's checkpoint covers.
 */
import { Subject } from 'rxjs';
import type { SourcePosition, SourceRecord } from '../../core/contracts.js';
import { Budget } from '../budget.js';
import type { Source } from '../connectors.js';
import { csvRecords, fileFormat, lineRecords } from './fileRecords.js';

/** Offsets of file i start at i × this (2^40 lines per file is beyond any file). */
export const FILE_OFFSET_STRIDE = 1n << 40n;

/** The file index and line of a file offset. */
export function splitFileOffset(offset: bigint): { file: number; line: bigint } {
  return { file: Number(offset / FILE_OFFSET_STRIDE), line: offset % FILE_OFFSET_STRIDE };
}

/** The longest line a source keeps for values of at most `maxValueBytes` (longer lines are cut, then refused). */
export function maxLineBytesFor(maxValueBytes: number): number {
  return maxValueBytes * 4 + 4096;
}

/** Options of {@link FileSource}. */
export interface FileSourceOptions {
  /** Files, in the order they are read (file i has offsets from i × {@link FILE_OFFSET_STRIDE}); `-` reads stdin. */
  paths: string[];
  /** `json`: the line is the value (its `key` field is the key); `text`: `key<TAB>text`. @default 'json' */
  format?: 'json' | 'text';
  /** Un-acked records before reading pauses (backpressure). @default 10000 */
  maxInFlight?: number;
  /** Longest line kept (longer: cut, then refused by the decoder as too large). @default 1 MiB */
  maxLineBytes?: number;
  /** Per file index, the last offset already done: records up to and including it are skipped. */
  resumeAfter?: ReadonlyMap<number, bigint>;
}

/** Defaults of {@link FileSourceOptions}. */
export const DEFAULT_FILE_SOURCE = {
  format: 'json',
  maxInFlight: 10_000,
  maxLineBytes: 1 << 20,
} as const;

/**
 * Reads files (or stdin) into the pipeline.
 * @example
 * const source = new FileSource({ paths: ['feed.jsonl'] });
 * const run = runPipeline({ source, … }); // subscribes, then calls source.start()
 */
export class FileSource implements Source {
  readonly #subject = new Subject<SourceRecord>();
  readonly records$ = this.#subject.asObservable();
  readonly #options: Required<Omit<FileSourceOptions, 'resumeAfter'>> &
    Pick<FileSourceOptions, 'resumeAfter'>;
  readonly #budget: Budget;
  /** Aborted by `stop()`: ends a wait for budget and destroys the stream being read. */
  readonly #stopped = new AbortController();
  #started = false;

  constructor(options: FileSourceOptions) {
    this.#options = { ...DEFAULT_FILE_SOURCE, ...options };
    const { maxInFlight } = this.#options;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    this.#budget = new Budget({ maxMessages: maxInFlight });
  }

  /** Records read and not yet acked. */
  get inFlight(): number {
    return this.#budget.messages;
  }

  /** Starts reading (after subscribing to `records$`); resolves when every file was read or on stop. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('FileSource.start() called twice');
    this.#started = true;
    try {
      for (const [index, path] of this.#options.paths.entries()) {
        if (this.#stopped.signal.aborted) break;
        await this.#readOne(index, path);
      }
      this.#subject.complete();
    } catch (error) {
      // A read cut short by stop() is the expected end.
      if (this.#stopped.signal.aborted) this.#subject.complete();
      else this.#subject.error(error);
    }
  }

  async #readOne(index: number, path: string): Promise<void> {
    const { format, maxLineBytes, resumeAfter } = this.#options;
    const skipThrough = resumeAfter?.get(index) ?? -1n;
    const signal = this.#stopped.signal;
    const where = {
      topic: path === '-' ? 'stdin' : `file:${path}`,
      base: BigInt(index) * FILE_OFFSET_STRIDE,
      maxLineBytes,
      signal,
    };
    const records =
      path !== '-' && fileFormat(path, format) === 'csv'
        ? csvRecords(path, format, where)
        : lineRecords(path, format, where);
    for await (const record of records) {
      if (signal.aborted) break;
      if (BigInt(record.source.offset) <= skipThrough) continue;
      if (!(await this.#budget.take(1, 0, signal))) break;
      this.#subject.next(record);
    }
  }

  async ack(positions: readonly SourcePosition[]): Promise<void> {
    this.#budget.release(positions.length, 0);
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
  }

  async close(): Promise<void> {
    await this.stop();
  }
}
