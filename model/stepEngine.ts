/**
 * The one place that turns weights into a {@link StepEngine} for the backend {@link selectBackend} chose:
 * ONNX Runtime's engine (`onnxEngine.ts`) or the TF.js engine (`engine.ts`). Everything that serves a
 * model (packages, `verify`, engine workers) builds its engine here, so a backend switch changes
 * nothing above the engine.
 */
import { activeRuntime } from './backend.js';
import type { RnnWeights } from './cells.js';
import { createEngine, type EngineOptions } from './engine.js';
import { createOnnxEngine, type OnnxEngineOptions } from './onnxEngine.js';
import type { RnnConfig, StepEngine } from './types.js';

/** Options of {@link createStepEngine}: each engine reads its own. */
export interface StepEngineOptions extends EngineOptions, OnnxEngineOptions {}

/**
 * Builds the batched incremental step on the active backend.
 * @example
 * await selectBackend('auto');
 * const engine = createStepEngine(pkg.weights, pkg.config);
 */
export function createStepEngine(
  weights: RnnWeights,
  config: RnnConfig,
  options: StepEngineOptions = {},
): StepEngine {
  const runtime = activeRuntime();
  if (runtime.kind === 'onnxruntime') {
    return createOnnxEngine(runtime.ort, weights, config, options);
  }
  return createEngine(weights, config, options);
}
