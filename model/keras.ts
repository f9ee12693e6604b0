/**
 * Converts a Keras / TensorFlow.js LayersModel (`model.json` + `.bin` weight shards) of the form
 * `Embedding → SimpleRNN | LSTM | GRU (optionally Bidirectional) … → Dense` into PyTorch state_dict
 * names and layout, so one engine serves both worlds.
 *
 * The files are parsed here rather than through `tf.loadLayersModel`: `file://` URLs need tfjs-node, and
 * a model package is data, so nothing in it is executed — only the topology JSON and float32 weights are
 * read. Keras kernels are `[in, gates*H]` (transposed here); LSTM gates i,f,c,o already match PyTorch's
 * i,f,g,o; GRU gates z,r,h are reordered to r,z,n, and its `[2, 3H]` bias (reset_after) split into
 * `bias_ih`/`bias_hh`; single-bias cells get `bias_hh` = 0.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelFormatError } from '../core/errors.js';
import { CELL_GATES } from './cells.js';
import { elementCount, type HostTensor, type TensorMap } from './safetensors.js';
import type { CellKind, RnnConfig } from './types.js';

/** A LayersModel in PyTorch terms. */
export interface KerasConversion {
  /** `embedding.weight`, `rnn.weight_ih_l{k}[_reverse]`…, `head.weight`, `head.bias` (PyTorch layout). */
  tensors: TensorMap;
  config: RnnConfig;
  bidirectional: boolean;
  /** The Dense layer's activation and width. */
  head: { activation: 'sigmoid' | 'softmax'; units: number };
}

/** One weight's entry in `weightsManifest`. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: unknown;
}

interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
}

const RECURRENT: Record<string, CellKind> = { SimpleRNN: 'rnn', LSTM: 'lstm', GRU: 'gru' };
/** Layers that are the identity at inference. */
const PASS_THROUGH = new Set([
  'InputLayer',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
]);

function fail(message: string): never {
  throw new ModelFormatError(`LayersModel: ${message}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The layer list of a Sequential or linear Functional topology, in either tfjs or Python Keras shape. */
function topologyLayers(modelTopology: unknown): KerasLayer[] {
  let model = modelTopology;
  if (isRecord(model) && isRecord(model.model_config)) model = model.model_config;
  if (!isRecord(model)) fail('modelTopology is missing');
  const config = model.config;
  const list = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  if (!Array.isArray(list)) fail('modelTopology has no layer list');
  return list.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.class_name !== 'string' || !isRecord(entry.config)) {
      fail(`layer ${i} is not a {class_name, config} object`);
    }
    const name = entry.config.name ?? entry.name;
    if (typeof name !== 'string') fail(`layer ${i} (${entry.class_name}) has no name`);
    return { className: entry.class_name, name, config: entry.config };
  });
}

/** Normalizes activation names across tfjs (`hardSigmoid`) and Keras (`hard_sigmoid`). */
const activationName = (v: unknown) =>
  String(v ?? 'linear')
    .replace(/_/g, '')
    .toLowerCase();

/** One recurrent layer as found in the topology. */
interface RecurrentLayer {
  cell: CellKind;
  units: number;
  useBias: boolean;
  returnSequences: boolean;
  /** Weight name prefixes: one per direction (forward, then backward). */
  prefixes: string[];
  layerName: string;
}

function recurrentLayer(layer: KerasLayer, specs: WeightSpec[]): RecurrentLayer {
  let inner = layer;
  let prefixes = [`${layer.name}/`];
  if (layer.className === 'Bidirectional') {
    const wrapped = layer.config.layer;
    if (!isRecord(wrapped) || typeof wrapped.class_name !== 'string' || !isRecord(wrapped.config)) {
      fail(`Bidirectional layer "${layer.name}" has no wrapped layer`);
    }
    const mergeMode = layer.config.merge_mode ?? 'concat';
    if (mergeMode !== 'concat')
      fail(`Bidirectional layer "${layer.name}": merge_mode ${mergeMode}, only concat`);
    inner = {
      className: wrapped.class_name,
      name: String(wrapped.config.name ?? ''),
      config: wrapped.config,
    };
    // tfjs names the halves `<outer>/forward_<inner>/…`, Keras `<outer>/forward_<inner>/<cell>/…`.
    const half = (direction: string) => {
      const found = specs.find((s) => s.name.startsWith(`${layer.name}/${direction}_`));
      if (!found) fail(`no ${direction} weights for Bidirectional layer "${layer.name}"`);
      return `${layer.name}/${found.name.slice(layer.name.length + 1).split('/')[0]}/`;
    };
    prefixes = [half('forward'), half('backward')];
  }
  const cell = RECURRENT[inner.className];
  if (!cell) fail(`layer "${layer.name}" is a ${inner.className}; expected SimpleRNN, LSTM or GRU`);
  const c = inner.config;
  const where = `${inner.className} layer "${layer.name}"`;
  if (activationName(c.activation ?? 'tanh') !== 'tanh') fail(`${where}: activation must be tanh`);
  if (cell !== 'rnn' && activationName(c.recurrent_activation ?? 'sigmoid') !== 'sigmoid') {
    fail(`${where}: recurrent_activation ${c.recurrent_activation} is not supported, only sigmoid`);
  }
  if (cell === 'gru' && c.reset_after !== true) {
    fail(`${where}: reset_after must be true (PyTorch's GRU equations); reset_after=false is not supported`);
  }
  if (c.go_backwards === true || c.stateful === true)
    fail(`${where}: go_backwards/stateful are not supported`);
  if (typeof c.units !== 'number') fail(`${where}: units missing`);
  return {
    cell,
    units: c.units,
    useBias: c.use_bias !== false,
    returnSequences: c.return_sequences === true,
    prefixes,
    layerName: layer.name,
  };
}

/** Host tensor of a named weight; `suffix` is matched at the end of the name under `prefix`. */
function weightUnder(
  weights: Map<string, HostTensor>,
  prefix: string,
  suffix: string,
): HostTensor | undefined {
  for (const [name, tensor] of weights) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (rest === suffix || rest.endsWith(`/${suffix}`)) return tensor;
  }
  return undefined;
}

/** `[rows, cols]` → `[cols, rows]`, optionally reordering column blocks of width `block` first. */
function transposed(t: HostTensor, order?: number[], block = 0): HostTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    // Output row c takes input column src(c): block permutation maps PyTorch gate position to Keras'.
    const src = order ? order[Math.floor(c / block)] * block + (c % block) : c;
    for (let r = 0; r < rows; r++) out[c * rows + r] = t.data[r * cols + src];
  }
  return { shape: [cols, rows], data: out };
}

function reorderVector(v: Float32Array, order: number[] | undefined, block: number): Float32Array {
  if (!order) return v.slice();
  const out = new Float32Array(order.length * block);
  order.forEach((src, g) => {
    out.set(v.subarray(src * block, (src + 1) * block), g * block);
  });
  return out;
}

/**
 * Converts a parsed `model.json` and its concatenated weight bytes (shards in manifest order).
 * @example const { tensors, config } = convertLayersModel(JSON.parse(json), await readShards(...));
 */
export function convertLayersModel(modelJson: unknown, weightData: Uint8Array): KerasConversion {
  if (!isRecord(modelJson)) fail('model.json is not an object');
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest)) fail('weightsManifest is missing');
  const specs: WeightSpec[] = manifest.flatMap((group) =>
    isRecord(group) && Array.isArray(group.weights) ? group.weights : [],
  );
  // Weights are stored back to back, in manifest order, as little-endian float32.
  const weights = new Map<string, HostTensor>();
  const view = new DataView(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  let offset = 0;
  for (const spec of specs) {
    if ((spec.dtype ?? 'float32') !== 'float32' || spec.quantization) {
      fail(
        `weight "${spec.name}" is ${spec.dtype}${spec.quantization ? ' (quantized)' : ''}; only float32 is supported`,
      );
    }
    const count = elementCount(spec.shape);
    if (offset + count * 4 > weightData.byteLength) fail(`weight files end before weight "${spec.name}"`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + i * 4, true);
    weights.set(spec.name, { shape: [...spec.shape], data });
    offset += count * 4;
  }
  if (offset !== weightData.byteLength)
    fail(`weight files hold ${weightData.byteLength} bytes, manifest ${offset}`);

  const layers = topologyLayers(modelJson.modelTopology).filter((l) => !PASS_THROUGH.has(l.className));
  const [embeddingLayer, ...rest] = layers;
  if (embeddingLayer?.className !== 'Embedding') fail('the first layer must be an Embedding');
  const denseLayer = rest.pop();
  if (denseLayer?.className !== 'Dense') fail('the last layer must be a Dense layer');
  if (rest.length === 0) fail('no recurrent layer between Embedding and Dense');
  const recurrent = rest.map((layer) => recurrentLayer(layer, specs));

  const first = recurrent[0];
  const bidirectional = first.prefixes.length === 2;
  recurrent.forEach((r, k) => {
    if (r.cell !== first.cell || r.units !== first.units || r.useBias !== first.useBias) {
      fail(
        `recurrent layer "${r.layerName}" differs from the first in cell, units or use_bias (not stackable)`,
      );
    }
    if ((r.prefixes.length === 2) !== bidirectional)
      fail('either every recurrent layer is Bidirectional or none');
    if (r.returnSequences !== k < recurrent.length - 1) {
      fail(
        `recurrent layer "${r.layerName}": return_sequences must be true on all but the last recurrent layer`,
      );
    }
  });

  const embedding = weightUnder(weights, `${embeddingLayer.name}/`, 'embeddings');
  if (!embedding) fail(`Embedding layer "${embeddingLayer.name}" has no embeddings weight`);
  const H = first.units;
  const gates = CELL_GATES[first.cell];
  // PyTorch gate position → Keras gate position (GRU: r,z,n from z,r,h).
  const order = first.cell === 'gru' ? [1, 0, 2] : undefined;
  const tensors: TensorMap = new Map();
  tensors.set('embedding.weight', embedding);
  recurrent.forEach((r, k) => {
    r.prefixes.forEach((prefix, direction) => {
      const suffix = direction === 1 ? '_reverse' : '';
      const kernel = weightUnder(weights, prefix, 'kernel');
      const recurrentKernel = weightUnder(weights, prefix, 'recurrent_kernel');
      if (!kernel || !recurrentKernel) fail(`layer "${r.layerName}" lacks kernel or recurrent_kernel`);
      if (kernel.shape[1] !== gates * H || recurrentKernel.shape[1] !== gates * H) {
        fail(
          `layer "${r.layerName}": kernel [${kernel.shape}] / recurrent_kernel [${recurrentKernel.shape}] do not hold ${gates} gates of ${H}`,
        );
      }
      tensors.set(`rnn.weight_ih_l${k}${suffix}`, transposed(kernel, order, H));
      tensors.set(`rnn.weight_hh_l${k}${suffix}`, transposed(recurrentKernel, order, H));
      if (!r.useBias) return;
      const bias = weightUnder(weights, prefix, 'bias');
      if (!bias) fail(`layer "${r.layerName}" has use_bias but no bias weight`);
      let biasIh: Float32Array;
      let biasHh: Float32Array;
      if (bias.shape.length === 2 && bias.shape[0] === 2 && bias.shape[1] === gates * H) {
        biasIh = bias.data.subarray(0, gates * H);
        biasHh = bias.data.subarray(gates * H);
      } else if (bias.shape.length === 1 && bias.shape[0] === gates * H) {
        biasIh = bias.data;
        biasHh = new Float32Array(gates * H);
      } else {
        fail(
          `layer "${r.layerName}": bias has shape [${bias.shape}], expected [${gates * H}] or [2, ${gates * H}]`,
        );
      }
      tensors.set(`rnn.bias_ih_l${k}${suffix}`, {
        shape: [gates * H],
        data: reorderVector(biasIh, order, H),
      });
      tensors.set(`rnn.bias_hh_l${k}${suffix}`, {
        shape: [gates * H],
        data: reorderVector(biasHh, order, H),
      });
    });
  });

  const dense = denseLayer.config;
  const units = Number(dense.units);
  const activation = activationName(dense.activation);
  if (!((activation === 'sigmoid' && units === 1) || (activation === 'softmax' && units >= 2))) {
    fail(
      `Dense layer "${denseLayer.name}": ${units} units with ${activation}; expected 1 sigmoid or N>=2 softmax`,
    );
  }
  const denseKernel = weightUnder(weights, `${denseLayer.name}/`, 'kernel');
  if (!denseKernel) fail(`Dense layer "${denseLayer.name}" has no kernel`);
  tensors.set('head.weight', transposed(denseKernel));
  if (dense.use_bias !== false) {
    const denseBias = weightUnder(weights, `${denseLayer.name}/`, 'bias');
    if (!denseBias) fail(`Dense layer "${denseLayer.name}" has use_bias but no bias`);
    tensors.set('head.bias', denseBias);
  }
  return {
    tensors,
    config: {
      cell: first.cell,
      inputSize: embedding.shape[1],
      hiddenSize: H,
      numLayers: recurrent.length,
      bias: first.useBias,
    },
    bidirectional,
    head: { activation: activation as 'sigmoid' | 'softmax', units },
  };
}

/** Shard paths of a model.json, in manifest order (relative to its folder). */
export function layersModelShards(modelJson: unknown): string[] {
  if (!isRecord(modelJson) || !Array.isArray(modelJson.weightsManifest)) fail('weightsManifest is missing');
  return modelJson.weightsManifest.flatMap((group) =>
    isRecord(group) && Array.isArray(group.paths) ? group.paths.map(String) : [],
  );
}

/**
 * Reads a LayersModel from disk and converts it. `resolveShard` maps a shard path to a safe absolute
 * path (the model package loader refuses paths that leave the package folder).
 * @example const model = await readLayersModel('models/keras-gru/model.json');
 */
export async function readLayersModel(
  modelJsonPath: string,
  resolveShard: (relative: string) => Promise<string> | string = (p) => `${dirname(modelJsonPath)}/${p}`,
): Promise<KerasConversion & { files: Uint8Array[] }> {
  const jsonBytes = await readFile(modelJsonPath);
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(jsonBytes.toString('utf8'));
  } catch (error) {
    throw new ModelFormatError(`${modelJsonPath} is not JSON`, { cause: error });
  }
  const shards = await Promise.all(
    layersModelShards(modelJson).map(async (p) => readFile(await resolveShard(p))),
  );
  const weightData = Buffer.concat(shards);
  return { ...convertLayersModel(modelJson, weightData), files: [jsonBytes, ...shards] };
}
