/**
 * The cost model of a micro-batch, learned while running: how long each stage of a batch takes as a
 * function of its size. The pipeline feeds it the measured time of every load, step, store and sink call;
 * `microBatch` asks it how long a batch it is collecting would take, to cut the batch before waiting
 * longer would break the latency goal. Pure arithmetic, no clock and no I/O.
 */

/** Stages a batch goes through after the micro-batcher. */
export type CostStage = 'load' | 'step' | 'store' | 'sink';

/** Predicted milliseconds of each stage of one batch (means), and the margin to plan for a high quantile. */
export interface StageCosts {
  load: number;
  step: number;
  store: number;
  sink: number;
  /** Added once to the sum of the stages: how far above the means a slow batch goes. */
  margin: number;
}

/** What `microBatch` needs of a cost model: a prediction per stage for a batch size. */
export interface BatchCostEstimate {
  /** Predicted milliseconds of each stage for a batch of `rows` keys holding `tokens` tokens. */
  estimate(rows: number, tokens: number): StageCosts;
}

/** Options of {@link BatchCostModel}. */
export interface BatchCostModelOptions {
  /**
   * Weight of the newest observation (exponential forgetting): about `1 / decay` recent batches make the
   * fit, so it follows a changing load (cache warmth, other work on the cores). @default 0.05
   */
  decay?: number;
  /**
   * The margin of a prediction is this many root-mean-square residuals of the stages together (the root of
   * their summed squares: the stages' errors are taken as independent), so that the fitted means plus the
   * margin are a high quantile rather than the mean (the goal is a p99). @default 2
   */
  margin?: number;
}

/** Defaults of {@link BatchCostModelOptions}. */
export const DEFAULT_BATCH_COST_MODEL_OPTIONS: Required<BatchCostModelOptions> = { decay: 0.05, margin: 2 };

/** Feature scales: rows and tokens are brought near 1 so the ridge term weighs them alike. */
const ROW_SCALE = 100;
const TOKEN_SCALE = 1000;
/** Ridge term of the normal equations: keeps them solvable while rows and tokens move together. */
const RIDGE = 1e-6;

/**
 * An exponentially weighted least-squares fit `y ≈ θ·x` over a few features, with the root-mean-square
 * of its residuals (each taken before the observation is learned, so it measures prediction error).
 */
export class LinearCost {
  readonly #n: number;
  /** Σ w x xᵀ, row-major. */
  readonly #xx: Float64Array;
  /** Σ w x y. */
  readonly #xy: Float64Array;
  #theta: Float64Array;
  #meanSquaredResidual = 0;
  #observations = 0;

  constructor(
    features: number,
    private readonly decay: number,
  ) {
    this.#n = features;
    this.#xx = new Float64Array(features * features);
    this.#xy = new Float64Array(features);
    this.#theta = new Float64Array(features);
  }

  /** Observations learned so far. */
  get observations(): number {
    return this.#observations;
  }

  /** Root-mean-square prediction error (same unit as `y`). */
  get rmse(): number {
    return Math.sqrt(this.#meanSquaredResidual);
  }

  /** The fitted value at `x` (0 before any observation). */
  predict(x: readonly number[]): number {
    let y = 0;
    for (let i = 0; i < this.#n; i++) y += this.#theta[i] * x[i];
    return y;
  }

  /** Learns `y` at `x`. */
  observe(x: readonly number[], y: number): void {
    if (!Number.isFinite(y)) return;
    const n = this.#n;
    const keep = this.#observations === 0 ? 0 : 1 - this.decay;
    const residual = y - this.predict(x);
    this.#meanSquaredResidual =
      this.#observations === 0 ? 0 : keep * this.#meanSquaredResidual + this.decay * residual * residual;
    for (let i = 0; i < n; i++) {
      this.#xy[i] = keep * this.#xy[i] + x[i] * y;
      for (let j = 0; j < n; j++) this.#xx[i * n + j] = keep * this.#xx[i * n + j] + x[i] * x[j];
    }
    this.#observations++;
    this.#theta = solve(this.#xx, this.#xy, n) ?? this.#theta;
  }
}

/** Solves `(A + ridge·I) θ = b` by Gaussian elimination with partial pivoting; undefined when singular. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array | undefined {
  const m = new Float64Array(n * (n + 1));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * (n + 1) + j] = a[i * n + j] + (i === j ? RIDGE : 0);
    m[i * (n + 1) + n] = b[i];
  }
  const w = n + 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * w + col]) > Math.abs(m[pivot * w + col])) pivot = r;
    if (Math.abs(m[pivot * w + col]) < 1e-12) return undefined;
    for (let j = 0; j < w; j++) [m[col * w + j], m[pivot * w + j]] = [m[pivot * w + j], m[col * w + j]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * w + col] / m[col * w + col];
      for (let j = col; j < w; j++) m[r * w + j] -= f * m[col * w + j];
    }
  }
  const theta = new Float64Array(n);
  for (let i = 0; i < n; i++) theta[i] = m[i * w + n] / m[i * w + i];
  return theta;
}

/**
 * Stage costs learned from measured calls: the step as `a + b·rows + c·tokens`, load, store and sink as
 * `a + b·rows` (never negative), with a margin of `margin` root-mean-square residuals. Before a stage has been
 * measured it is predicted to cost nothing (so the batcher behaves as without a goal until it has learned).
 *
 * @example
 * const costs = new BatchCostModel();
 * costs.observe('step', 300, 6000, 42.5); // rows, tokens, ms
 * costs.estimate(300, 6000).step; // ≈ 42.5 once learned
 */
export class BatchCostModel implements BatchCostEstimate {
  readonly #margin: number;
  readonly #fits: Record<CostStage, LinearCost>;

  constructor(options: BatchCostModelOptions = {}) {
    const { decay, margin } = { ...DEFAULT_BATCH_COST_MODEL_OPTIONS, ...options };
    if (!(decay > 0 && decay <= 1)) throw new RangeError(`decay must be in (0, 1] (got ${decay})`);
    if (!(margin >= 0)) throw new RangeError(`margin must be non-negative (got ${margin})`);
    this.#margin = margin;
    this.#fits = {
      load: new LinearCost(2, decay),
      step: new LinearCost(3, decay),
      store: new LinearCost(2, decay),
      sink: new LinearCost(2, decay),
    };
  }

  /** Learns one measured call of `stage` over `rows` keys and `tokens` tokens, taking `ms`. */
  observe(stage: CostStage, rows: number, tokens: number, ms: number): void {
    this.#fits[stage].observe(features(stage, rows, tokens), ms);
  }

  /** Calls of `stage` learned so far. */
  observations(stage: CostStage): number {
    return this.#fits[stage].observations;
  }

  estimate(rows: number, tokens: number): StageCosts {
    const at = (stage: CostStage) => {
      const fit = this.#fits[stage];
      return fit.observations === 0 ? 0 : Math.max(0, fit.predict(features(stage, rows, tokens)));
    };
    let squares = 0;
    for (const fit of Object.values(this.#fits)) squares += fit.rmse ** 2;
    const margin = this.#margin * Math.sqrt(squares);
    return { load: at('load'), step: at('step'), store: at('store'), sink: at('sink'), margin };
  }
}

function features(stage: CostStage, rows: number, tokens: number): number[] {
  return stage === 'step' ? [1, rows / ROW_SCALE, tokens / TOKEN_SCALE] : [1, rows / ROW_SCALE];
}
