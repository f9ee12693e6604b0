/**
 * JSON-lines sinks for outputs and dead letters: a file (appended) or stdout (`-`). A write resolves when
 * the bytes were handed to the OS (the stream's callback), which is what "durable" means for a file here.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { DeadLetter, SinkRecord } from '../../core/contracts.js';
import type { DeadLetterSink, Sink } from '../connectors.js';

/** Writes lines to a file or stdout, awaiting the stream's acknowledgement. */
class LineWriter {
  private readonly stream: NodeJS.WritableStream;
  private readonly owned: WriteStream | undefined;
  /** The owned stream's first error (open or write): every later write fails with it. */
  private error: Error | undefined;

  /** `-` = stdout; `stderr` = the process's stderr (whatever it is: a pipe, a socket, a file). */
  constructor(path: string) {
    if (path === '-' || path === 'stderr') {
      this.stream = path === '-' ? process.stdout : process.stderr;
    } else {
      this.owned = createWriteStream(path, { flags: 'a' });
      // A failed write reaches its caller through the write's callback; the stream's 'error' event, with
      // no listener, would also crash the process as an uncaught exception, past the run's error handling.
      this.owned.on('error', (error) => {
        this.error ??= error;
      });
      this.stream = this.owned;
    }
  }

  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.stream.write(lines.join(''), (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    const owned = this.owned;
    if (owned) await new Promise<void>((resolve) => owned.end(resolve));
  }
}

/** Output sink writing one JSON object per line (the output contract). */
export class FileSink implements Sink {
  private readonly writer: LineWriter;

  constructor(path: string) {
    this.writer = new LineWriter(path);
  }

  write(records: readonly SinkRecord[]): Promise<void> {
    return this.writer.write(records.map((r) => `${JSON.stringify(r.value)}\n`));
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** The JSON form of a dead letter: the original bytes (base64, and as text when valid UTF-8) plus why. */
export function deadLetterJson(dead: DeadLetter): Record<string, unknown> {
  const { record } = dead;
  return {
    reason: dead.reason,
    stage: dead.stage,
    detail: dead.detail,
    source: record.source,
    key: record.key ? record.key.toString('base64') : null,
    value: record.value ? record.value.toString('base64') : null,
    headers: record.headers
      ? Object.fromEntries(
          Object.entries(record.headers).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v]),
        )
      : undefined,
  };
}

/** Dead-letter sink writing one JSON object per line (key/value bytes base64-encoded). */
export class FileDeadLetterSink implements DeadLetterSink {
  private readonly writer: LineWriter;

  /** @param path a file, `-` (stdout) or `stderr`. */
  constructor(path: string) {
    this.writer = new LineWriter(path);
  }

  write(dead: readonly DeadLetter[]): Promise<void> {
    return this.writer.write(dead.map((d) => `${JSON.stringify(deadLetterJson(d))}\n`));
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}
