/**
 * How far a replay is: a progress bar with rate and ETA (cli-progress) when stderr is a terminal,
 * otherwise a log line every few seconds (containers and CI logs are not terminals). Progress counts
 * messages whose state and output are durable (acks), so it never runs ahead of what a resume keeps.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Logger } from '../logger.js';

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Messages to do in all, when known (bounded replays); `undefined` = unknown (no ETA). */
  total?: number;
  /** Messages already done before this run (a resumed replay). @default 0 */
  initial?: number;
  log: Logger;
  /** Draw a bar (true) or log lines (false). @default process.stderr.isTTY */
  tty?: boolean;
  /** Interval of the log lines, in ms. @default 5000 */
  logIntervalMs?: number;
  /** Where the bar is drawn. @default process.stderr */
  stream?: NodeJS.WritableStream;
}

/** Defaults of {@link ProgressOptions}. */
export const DEFAULT_PROGRESS_OPTIONS = { initial: 0, logIntervalMs: 5000 } as const;

/** A running progress report. */
export interface Progress {
  /** Adds done messages. */
  advance(messages: number): void;
  /** Messages done so far (initial included). */
  readonly done: number;
  /** Stops the bar or the log lines; `complete` draws the bar full. */
  stop(complete: boolean): void;
}

/** A progress snapshot for log lines. */
export function progressLine(
  done: number,
  total: number | undefined,
  initial: number,
  seconds: number,
): { done: number; total?: number; percent?: number; perSecond: number; etaSeconds?: number } {
  const perSecond = seconds > 0 ? (done - initial) / seconds : 0;
  const line: ReturnType<typeof progressLine> = { done, perSecond: Math.round(perSecond) };
  if (total !== undefined && total > 0) {
    line.total = total;
    line.percent = Math.min(100, Math.round((1000 * done) / total) / 10);
    if (perSecond > 0) line.etaSeconds = Math.max(0, Math.round((total - done) / perSecond));
  }
  return line;
}

/**
 * Starts reporting progress.
 * @example const progress = createProgress({ total: 1e6, log }); … progress.advance(acked.length); … progress.stop(true);
 */
export function createProgress(options: ProgressOptions): Progress {
  const { total, log } = options;
  const initial = options.initial ?? DEFAULT_PROGRESS_OPTIONS.initial;
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const started = performance.now();
  let done = initial;
  const seconds = () => (performance.now() - started) / 1000;

  if (tty) {
    const bar = new SingleBar(
      {
        format:
          total === undefined
            ? 'replay | {value} msgs | {rate} msg/s | {duration_formatted}'
            : 'replay {bar} {percentage}% | {value}/{total} msgs | {rate} msg/s | ETA {eta_formatted}',
        stream: options.stream ?? process.stderr,
        etaBuffer: 50,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(total ?? 0, initial, { rate: 0 });
    return {
      advance(messages) {
        done += messages;
        bar.update(done, { rate: progressLine(done, total, initial, seconds()).perSecond });
      },
      get done() {
        return done;
      },
      stop(complete) {
        if (complete && total !== undefined) bar.update(Math.max(done, total));
        bar.stop();
      },
    };
  }

  const interval = options.logIntervalMs ?? DEFAULT_PROGRESS_OPTIONS.logIntervalMs;
  const timer = setInterval(
    () => log.info(progressLine(done, total, initial, seconds()), 'replay progress'),
    interval,
  );
  timer.unref();
  return {
    advance(messages) {
      done += messages;
    },
    get done() {
      return done;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
