/**
 * Training progress: a cli-progress bar (epoch, batch, loss, accuracy) on a terminal, one plain line per
 * epoch otherwise (logs, CI), or nothing.
 */
import cliProgress from 'cli-progress';

/** Figures of one finished epoch. */
export interface EpochFigures {
  epoch: number;
  loss: number;
  accuracy: number;
  valAccuracy?: number;
  seconds: number;
}

/** Receives training progress. */
export interface ProgressReporter {
  startEpoch(epoch: number, epochs: number, batches: number): void;
  batch(done: number, loss: number, accuracy: number): void;
  endEpoch(figures: EpochFigures, note?: string): void;
  /** A free-form line (early stop, saved package…). */
  line(text: string): void;
  stop(): void;
}

/** How progress is shown. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '-');

/** A one-line summary of an epoch. */
export function epochLine(f: EpochFigures, epochs: number, note = ''): string {
  const val = f.valAccuracy === undefined ? '' : ` val_acc ${fmt(f.valAccuracy)}`;
  return `epoch ${f.epoch}/${epochs} loss ${fmt(f.loss)} acc ${fmt(f.accuracy)}${val} (${f.seconds.toFixed(1)} s)${note ? ` ${note}` : ''}`;
}

/**
 * A reporter: `auto` = a bar when `stream` is a TTY, lines otherwise.
 * @example const progress = createProgress('auto', process.stderr);
 */
export function createProgress(
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  const useBar = mode === 'bar' || (mode === 'auto' && stream.isTTY === true);
  let epochs = 0;
  if (mode === 'none') {
    return { startEpoch() {}, batch() {}, endEpoch() {}, line() {}, stop() {} };
  }
  if (!useBar) {
    return {
      startEpoch(_epoch, total) {
        epochs = total;
      },
      batch() {},
      endEpoch(figures, note) {
        stream.write(`${epochLine(figures, epochs, note)}\n`);
      },
      line(text) {
        stream.write(`${text}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} | acc {acc}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    startEpoch(epoch, total, batches) {
      epochs = total;
      bar.start(batches, 0, { epoch, epochs: total, loss: '-', acc: '-' });
      running = true;
    },
    batch(done, loss, accuracy) {
      bar.update(done, { loss: fmt(loss), acc: fmt(accuracy) });
    },
    endEpoch(figures, note) {
      if (running) bar.stop();
      running = false;
      stream.write(`${epochLine(figures, epochs, note)}\n`);
    },
    line(text) {
      stream.write(`${text}\n`);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
