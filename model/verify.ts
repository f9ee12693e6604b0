/**
 * Checks the engine against reference vectors computed by PyTorch (`../shared/golden/`): every sequence
 * is run whole, and cut into random chunks fed in interleaved batches with the state carried between
 * calls; outputs, `h_n` and `c_n` must match within the case's tolerance.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RnnState } from '../core/contracts.js';
import { ModelFormatError } from '../core/errors.js';
import { activeBackendName, type BackendName, selectBackend } from './backend.js';
import { rnnWeightsFromStateDict } from './cells.js';
import { readSafetensors } from './safetensors.js';
import { createStepEngine } from './stepEngine.js';
import type { RnnConfig, StepRow } from './types.js';

const matrix = z.array(z.array(z.number()));

/** `case.json` of a reference folder. */
const CaseSchema = z.object({
  cell: z.enum(['rnn', 'lstm', 'gru']),
  input_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_layers: z.number().int().positive(),
  bias: z.boolean(),
  tolerance: z.number().positive(),
  sequences: z.array(
    z.object({
      inputs: matrix,
      h0: matrix,
      c0: matrix.nullish(),
      outputs: matrix,
      h_n: matrix,
      c_n: matrix.nullish(),
    }),
  ),
});

/** Options of {@link verifyReferences}. */
export interface VerifyOptions {
  /** Backend to select first; absent = keep the current one. */
  backend?: BackendName;
  /** Seed of the random chunking. @default 1 */
  seed?: number;
}

/** Result for one reference folder. */
export interface VerifyCase {
  dir: string;
  cell: string;
  layers: number;
  hiddenSize: number;
  sequences: number;
  /** Largest absolute difference over outputs and final states, whole and chunked. */
  maxError: number;
  tolerance: number;
  ok: boolean;
}

/** Result of {@link verifyReferences}. */
export interface VerifyResult {
  backend: string;
  cases: VerifyCase[];
  ok: boolean;
}

/** Small seeded PRNG (mulberry32): the same seed gives the same chunking. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random cut points of a sequence of `length` steps into chunks (empty chunks allowed). */
function randomCuts(length: number, random: () => number): number[] {
  const cuts = [0];
  while (cuts[cuts.length - 1] < length) {
    const left = length - cuts[cuts.length - 1];
    cuts.push(cuts[cuts.length - 1] + Math.min(left, Math.floor(random() * (Math.min(left, 6) + 1))));
  }
  return cuts;
}

const flatten = (m: number[][]) => Float32Array.from(m.flat());

function maxAbsDiff(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(max, d);
  }
  return max;
}

/**
 * Verifies one reference folder (`weights.safetensors` + `case.json`).
 * @example const result = await verifyCase('../shared/golden/gru-1x16', seededRandom(1));
 */
export async function verifyCase(dir: string, random: () => number): Promise<VerifyCase> {
  let spec: z.infer<typeof CaseSchema>;
  try {
    spec = CaseSchema.parse(JSON.parse(await readFile(join(dir, 'case.json'), 'utf8')));
  } catch (error) {
    throw new ModelFormatError(`${dir}/case.json is not a valid reference case: ${String(error)}`, {
      cause: error,
    });
  }
  const config: RnnConfig = {
    cell: spec.cell,
    inputSize: spec.input_size,
    hiddenSize: spec.hidden_size,
    numLayers: spec.num_layers,
    bias: spec.bias,
  };
  const weights = rnnWeightsFromStateDict(await readSafetensors(join(dir, 'weights.safetensors')), config);
  const engine = createStepEngine(weights, config);
  const lstm = spec.cell === 'lstm';
  const I = spec.input_size;
  const H = spec.hidden_size;
  let maxError = 0;
  const check = (actual: Float32Array | undefined, expected: Float32Array | undefined) => {
    if (expected && !actual) maxError = Number.POSITIVE_INFINITY;
    if (actual && expected) maxError = Math.max(maxError, maxAbsDiff(actual, expected));
  };
  try {
    const sequences = spec.sequences.map((s) => ({
      inputs: flatten(s.inputs),
      steps: s.inputs.length,
      initial: (lstm ? { h: flatten(s.h0), c: flatten(s.c0 ?? []) } : { h: flatten(s.h0) }) as RnnState,
      outputs: flatten(s.outputs),
      hN: flatten(s.h_n),
      cN: lstm ? flatten(s.c_n ?? []) : undefined,
      cuts: randomCuts(s.inputs.length, random),
    }));

    // Whole: all sequences in one batch, with marks at the chunk boundaries checked against `outputs`.
    const whole = await engine.step(
      sequences.map((s) => ({ inputs: s.inputs, state: s.initial, marks: s.cuts })),
      { returnOutputs: true },
    );
    sequences.forEach((s, i) => {
      const result = whole[i];
      check(result.outputs, s.outputs);
      check(result.state.h, s.hN);
      check(result.state.c, s.cN);
      s.cuts.forEach((m, k) => {
        const expected =
          m === 0 ? s.initial.h.subarray((spec.num_layers - 1) * H) : s.outputs.subarray((m - 1) * H, m * H);
        check(result.marked[k], expected);
      });
    });

    // Chunked: call k feeds chunk k of every sequence (rows of different lengths, some empty).
    const states = sequences.map((s) => s.initial);
    const outputs = sequences.map((s) => new Float32Array(s.steps * H));
    const calls = Math.max(...sequences.map((s) => s.cuts.length - 1));
    for (let k = 0; k < calls; k++) {
      const rows: StepRow[] = sequences.map((s, i) => {
        const from = s.cuts[Math.min(k, s.cuts.length - 1)];
        const to = s.cuts[Math.min(k + 1, s.cuts.length - 1)];
        return { inputs: s.inputs.slice(from * I, to * I), state: states[i] };
      });
      const results = await engine.step(rows, { returnOutputs: true });
      results.forEach((result, i) => {
        const from = sequences[i].cuts[Math.min(k, sequences[i].cuts.length - 1)];
        outputs[i].set(result.outputs ?? [], from * H);
        states[i] = result.state;
      });
    }
    sequences.forEach((s, i) => {
      check(outputs[i], s.outputs);
      check(states[i].h, s.hN);
      check(states[i].c, s.cN);
    });
  } finally {
    engine.dispose();
  }
  return {
    dir,
    cell: spec.cell,
    layers: spec.num_layers,
    hiddenSize: H,
    sequences: spec.sequences.length,
    maxError,
    tolerance: spec.tolerance,
    ok: maxError <= spec.tolerance,
  };
}

/**
 * Verifies the engine against every reference folder, on the requested backend.
 * @example const result = await verifyReferences(['../shared/golden/gru-1x16'], { backend: 'wasm' });
 */
export async function verifyReferences(dirs: string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const backend = options.backend ? (await selectBackend(options.backend)).backend : activeBackendName();
  const random = seededRandom(options.seed ?? 1);
  const cases: VerifyCase[] = [];
  for (const dir of dirs) cases.push(await verifyCase(dir, random));
  return { backend, cases, ok: cases.every((c) => c.ok) };
}

/**
 * Formats a verification result as a table, one line per case, then a verdict.
 * @example process.stdout.write(formatVerifyReport(result));
 */
export function formatVerifyReport(result: VerifyResult): string {
  const lines = [`reference check on backend ${result.backend}`];
  for (const c of result.cases) {
    lines.push(
      `${c.ok ? 'ok  ' : 'FAIL'}  ${c.cell.padEnd(4)} ${c.layers}x${c.hiddenSize}  ${c.sequences} sequences  ` +
        `max error ${c.maxError.toExponential(2)} (tolerance ${c.tolerance.toExponential(1)})  ${c.dir}`,
    );
  }
  const failed = result.cases.filter((c) => !c.ok).length;
  lines.push(
    result.ok ? `all ${result.cases.length} cases within tolerance` : `${failed} case(s) out of tolerance`,
  );
  return `${lines.join('\n')}\n`;
}
