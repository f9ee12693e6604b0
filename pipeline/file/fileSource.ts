/**
 * File and stdin source: JSON lines (`{"key","text","end"?,"id"?}`) or, with the text format, `key<TAB>text`
 * lines. Positions are (topic = `file:PATH`, partition = file index, offset = line index), so fences and
 * replays work for files exactly as for Kafka. Reading pauses while `maxInFlight` lines are un-acked.
 */
import { createReadStream } from 'node:fs';
import { Subject } from 'rxjs';
import type { SourcePosition, SourceRecord } from '../../core/contracts.js';
import type { Source } from '../connectors.js';
import { splitLines } from './lineSplitter.js';

export interface FileSourceOptions {
  /** File paths; `-` reads stdin. */
  paths: string[];
  /** `json`: the line is the value (its `key` field is the key); `text`: `key<TAB>text`. @default 'json' */
  format?: 'json' | 'text';
  /** Un-acked lines before reading pauses (backpressure). @default 10000 */
  maxInFlight?: number;
  /** Longest line kept; longer lines are cut (and refused by the decoder as too large). @default 1 MiB */
  maxLineBytes?: number;
}

export const DEFAULT_FILE_SOURCE = { format: 'json', maxInFlight: 10_000, maxLineBytes: 1 << 20 } as const;

/** Reads files (or stdin) line by line into the pipeline. */
export class FileSource implements Source {
  private readonly subject = new Subject<SourceRecord>();
  readonly records$ = this.subject.asObservable();
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private stopped = false;
  private started = false;
  /** The stream being read, destroyed by `stop()` so a read waiting on stdin ends at once. */
  private input: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  private readonly options: Required<FileSourceOptions>;

  constructor(options: FileSourceOptions) {
    this.options = { ...DEFAULT_FILE_SOURCE, ...options };
  }

  /** Starts reading (call after subscribing to `records$`). Resolves when every file was read. */
  async start(): Promise<void> {
    if (this.started) throw new Error('FileSource.start() called twice');
    this.started = true;
    try {
      for (const [index, path] of this.options.paths.entries()) {
        if (this.stopped) break;
        await this.readOne(path, index);
      }
      this.subject.complete();
    } catch (error) {
      this.subject.error(error);
    }
  }

  private async readOne(path: string, partition: number): Promise<void> {
    const topic = path === '-' ? 'stdin' : `file:${path}`;
    const input = path === '-' ? process.stdin : createReadStream(path);
    this.input = input;
    let offset = -1n;
    try {
      for await (const line of splitLines(input, this.options.maxLineBytes)) {
        offset++;
        if (this.stopped) break;
        if (line.bytes.length === 0 && !line.truncated) continue; // blank lines are not messages
        while (this.inFlight >= this.options.maxInFlight && !this.stopped) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
        }
        this.inFlight++;
        this.subject.next(this.toRecord(line.bytes, { topic, partition, offset: String(offset) }));
      }
    } catch (error) {
      if (!this.stopped) throw error; // a read cut short by stop() is the expected end
    } finally {
      this.input = undefined;
      if (path !== '-') (input as ReturnType<typeof createReadStream>).destroy();
    }
  }

  private toRecord(bytes: Buffer, source: SourcePosition): SourceRecord {
    if (this.options.format === 'text') {
      const tab = bytes.indexOf(0x09);
      if (tab === -1) return { key: null, value: bytes, source };
      return { key: bytes.subarray(0, tab), value: bytes.subarray(tab + 1), source };
    }
    return { key: null, value: bytes, source };
  }

  async ack(positions: readonly SourcePosition[]): Promise<void> {
    this.inFlight -= positions.length;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.input?.destroy();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async close(): Promise<void> {
    await this.stop();
  }
}
