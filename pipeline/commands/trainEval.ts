/**
 * `rnnstream train` and `rnnstream eval`: thin shells over model/train and model/eval, turning the
 * command line's strings into their options (bad numbers are a ConfigError naming the flag).
 */

import { ConfigError } from '../../core/errors.js';
import type { BackendName } from '../../model/backend.js';
import { evaluate, formatEvaluation } from '../../model/eval/evaluate.js';
import { train } from '../../model/train/train.js';
import type { CellKind } from '../../model/types.js';

/** A number flag from 0 to 1, or undefined when absent. */
function share(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new ConfigError(`--${flag}: expected a number from 0 to 1, got "${value}"`);
  return n;
}

function number(flag: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`--${flag}: expected a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  }
  return n;
}

/** Drops undefined fields, so the library's defaults apply where a flag was not given. */
function defined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/** Flags of `rnnstream train`. */
export interface TrainFlags {
  data: string[];
  out: string;
  cell: string;
  layers?: string;
  hidden?: string;
  members?: string;
  separateInputs?: boolean;
  embed?: string;
  epochs?: string;
  seed?: string;
  textColumn?: string;
  labelColumn?: string;
  labels?: string;
  batchSize?: string;
  learningRate?: string;
  clipNorm?: string;
  backend?: 'wasm' | 'cpu';
  glove?: string;
  split?: 'words' | 'social';
  maxVocab?: string;
  teacher?: string[];
  labelWeight?: string;
}

/** Trains a model package; resolves to the exit code. */
export async function trainCommand(flags: TrainFlags): Promise<number> {
  const result = await train(
    defined({
      data: flags.data,
      out: flags.out,
      cell: flags.cell as CellKind,
      layers: number('layers', flags.layers),
      hidden: number('hidden', flags.hidden),
      members: number('members', flags.members),
      separateInputs: flags.separateInputs,
      embed: number('embed', flags.embed),
      epochs: number('epochs', flags.epochs),
      seed: flags.seed === undefined ? undefined : Number(flags.seed),
      textColumn: flags.textColumn,
      labelColumn: flags.labelColumn,
      labels: flags.labels?.split(',').map((l) => l.trim()),
      batchSize: number('batch-size', flags.batchSize),
      learningRate: number('learning-rate', flags.learningRate, false),
      clipNorm: number('clip-norm', flags.clipNorm, false),
      backend: flags.backend,
      glove: flags.glove,
      split: flags.split,
      maxVocab: number('max-vocab', flags.maxVocab),
      teachers: flags.teacher,
      labelWeight: share('label-weight', flags.labelWeight),
    }),
  );
  process.stdout.write(`${JSON.stringify(result, (_k, v) => (v instanceof Float32Array ? undefined : v))}\n`);
  return 0;
}

/** Flags of `rnnstream eval`. */
export interface EvalFlags {
  data: string[];
  model?: string;
  json?: boolean;
  split?: 'train' | 'val' | 'test' | 'all';
  textColumn?: string;
  labelColumn?: string;
  backend?: BackendName;
  lexicons?: boolean;
}

/** Evaluates a model on labelled files; with `--json` the last line is `{"accuracy","f1","auc","n"}`. */
export async function evalCommand(flags: EvalFlags): Promise<number> {
  const result = await evaluate(
    defined({
      data: flags.data,
      model: flags.model,
      split: flags.split,
      textColumn: flags.textColumn,
      labelColumn: flags.labelColumn,
      backend: flags.backend,
      lexicons: flags.lexicons,
    }),
  );
  process.stdout.write(`${formatEvaluation(result, flags.json ?? false)}\n`);
  return 0;
}
